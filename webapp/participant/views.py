"""Views of the participant pages. They read the link, call a service, and show the outcome;
the rules (seats, waiting list, mails) live in `webapp.services`. Dates are written by the
app-wide template helpers of `webapp.web` (`event_when`, `local_datetime`, `workshop_slot`)."""
import json

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import csrf, public_post_limit
from ..formatting import in_language, sentence
from ..forms import with_questions
from ..links import absolute_url
from ..models import RegistrationStatus
from ..services import consents, privacy, registrations, seats, suppressions, tokens
from ..services import questions as registration_questions
from ..services.dispatch import SEND_LOST_LINKS, send_task
from ..services.errors import RegistrationError
from ..services.errors import RegistrationErrorCode as Code
from ..services.questions import AnswersError
from ..web import render_form_page
from . import bp
from .forms import LostLinkForm, ManageForm


def personal_link(purpose):
    """Mark a view reached through a personal link of `purpose` ("confirm", "manage", "offer")."""
    def mark(view):
        view.link_purpose = purpose
        return view
    return mark


@bp.url_value_preprocessor
def _speak_the_language_of_the_link_owner(endpoint, values):
    """Every page reached through a personal link, error pages included (already used, expired,
    cancelled, CSRF failure…), is in the language of the person the link belongs to (the one of
    their mails), unless the visitor chose one with the language switch: `extensions.select_locale`
    reads `g.participant_language`. This runs before the CSRF check and the view."""
    purpose = getattr(current_app.view_functions.get(endpoint), "link_purpose", None)
    if purpose and values and "token" in values:
        owner = registrations.link_owner(purpose, values["token"])
        if owner is not None:
            g.participant_language = owner.language
            g.link_owner = owner


@bp.before_request
def _erased_registrations_links_are_gone():
    """Every link of a registration whose data was erased (or anonymised at the end of its
    retention period) answers 410, with a page that says so."""
    owner = g.get("link_owner")
    if owner is not None and owner.is_erased:
        return _message(
            410, _("Données effacées"),
            _("Les données de cette inscription ont été effacées : ce lien ne peut plus servir. "
              "Vous pouvez vous inscrire à nouveau aux événements à venir."),
            url_for("public.index"), _("Voir les événements"),
        )
    return None


def _message(status, heading, message, link_url=None, link_text=None, erase_url=None):
    """A short answer page; for a link that cannot be used (4xx, never a 500), the page also
    says how to get one's links again, and `erase_url` how to have one's data erased."""
    template = "participant/message.html" if status >= 400 else "message.html"
    page = render_template(template, heading=heading, message=message, link_url=link_url, link_text=link_text,
                           erase_url=erase_url)
    return page, status


def _title(event, text=None):
    """The event's title (or another of its organisers' texts) for a sentence, marked with the
    event's language when the page is in another one; fill the sentence with `sentence`."""
    return in_language(event.title if text is None else text, event.content_language)


def _invalid_link():
    return _message(
        404, _("Lien non valable"),
        _("Ce lien n'est pas (ou plus) valable : il est peut-être incomplet, ou a été remplacé par un lien "
          "plus récent. Vérifiez que vous avez copié l'adresse en entier, ou utilisez le dernier message reçu."),
    )


def _manage_url(registration):
    return absolute_url("participant.manage", token=tokens.manage_token(registration))


def _expired_confirmation(token):
    """The confirmation link is too old: say how to get a new one (register again, same address)."""
    link_url = url_for("public.index")
    link_text = _("Voir les événements")
    registration = registrations.link_owner("confirm", token)  # a genuine link: point at its event's form
    if registration is not None and registration.event.accepts_registrations():
        link_url = url_for("public.register", slug=registration.event.slug)
        link_text = sentence(_("S'inscrire à nouveau à « %(title)s »"), title=_title(registration.event))
    return _message(
        410, _("Ce lien de confirmation a expiré"),
        _("Pour des raisons de sécurité, un lien de confirmation n'est valable que quelques jours. "
          "Pour en recevoir un nouveau, remplissez à nouveau le formulaire d'inscription avec la même "
          "adresse électronique : nous vous renverrons le lien, sans créer de seconde inscription."),
        link_url, link_text,
    )


def _confirmation_refused(code):
    """The link is genuine but cannot confirm anything (any more)."""
    events_link = (url_for("public.index"), _("Voir les événements"))
    if code == Code.already_confirmed:
        return _message(
            409, _("Adresse déjà confirmée"),
            _("Votre adresse électronique a déjà été confirmée. Le lien pour consulter ou modifier votre "
              "inscription vous a été envoyé par courriel."),
        )
    if code == Code.cancelled:
        return _message(
            410, _("Inscription annulée"),
            _("Cette inscription a été annulée : le lien de confirmation ne peut plus servir. "
              "Vous pouvez vous inscrire à nouveau depuis la page de l'événement."),
            *events_link,
        )
    return _message(
        410, _("Inscriptions closes"),
        _("Les inscriptions à cet événement sont closes, ou l'événement a été annulé : "
          "votre adresse n'a pas pu être confirmée."),
        *events_link,
    )


@bp.get("/confirm/<token>")
@personal_link("confirm")
def confirm(token):
    """Confirm the address behind the link, then show the registration and its manage link."""
    try:
        registration = registrations.confirm_address(token)
    except tokens.InvalidLink as exc:
        return _expired_confirmation(token) if exc.reason == "expired" else _invalid_link()
    except RegistrationError as exc:
        return _confirmation_refused(exc.code)
    return render_template(
        "participant/confirmed.html", registration=registration,
        position=registrations.waiting_position(registration), manage_url=_manage_url(registration),
    )


def _manage_link_registration(token):
    """The registration behind a manage link, or None when the link is forged or revoked."""
    try:
        return registrations.registration_from_token("manage", token)
    except tokens.InvalidLink:
        return None


def _cancelled_page(registration, token):
    """The registration ended: cancelled, or declined by the organisers. The person may still have
    their data erased."""
    erase_url = url_for("participant.erase", token=token)
    if registration.status == RegistrationStatus.declined:
        return _message(
            410, _("Demande non retenue"),
            sentence(_("Les personnes qui organisent « %(title)s » n'ont pas pu donner suite à votre demande "
                       "d'inscription : il n'y a plus rien à modifier."), title=_title(registration.event)),
            url_for("public.index"), _("Voir les événements"), erase_url,
        )
    return _message(
        410, _("Inscription annulée"),
        sentence(_("Votre inscription à « %(title)s » est annulée : il n'y a plus rien à modifier. "
                   "Vous pouvez vous inscrire à nouveau depuis la page de l'événement si des places sont "
                   "disponibles."), title=_title(registration.event)),
        url_for("public.event", slug=registration.event.slug), _("Voir l'événement"), erase_url,
    )


@bp.route("/manage/<token>", methods=["GET", "POST"])
@personal_link("manage")
def manage(token):
    """See one's registration; change details, language and workshops."""
    registration = _manage_link_registration(token)
    if registration is None:
        return _invalid_link()
    if not registration.is_active:
        return _cancelled_page(registration, token)
    event = registration.event
    current_workshops = [booking.workshop for booking in registration.active_bookings()]
    # Workshops can change only while the event takes registrations; otherwise they are shown
    # without checkboxes and stay as they are.
    workshops_open = event.accepts_registrations()
    form_class = with_questions(ManageForm, registration_questions.load(event), answers=registration.answers)
    form = form_class(obj=registration, workshops=event.workshops)
    if not form.is_submitted():
        form.workshops.data = [workshop.id for workshop in current_workshops]
    if form.validate_on_submit():
        try:
            registrations.update_registration(
                registration, first_name=form.first_name.data, last_name=form.last_name.data,
                organisation=form.organisation.data, actor_type=form.actor_type.data, language=form.language.data,
                workshops=form.chosen_workshops() if workshops_open else current_workshops, answers=form.answers(),
            )
        except RegistrationError as exc:
            return _update_refused(registration, token, exc.code)
        except AnswersError as error:  # the questions changed in the meantime
            form.refuse_answers(error)
        else:
            flash(_("Vos modifications sont enregistrées."), "success")
            return redirect(url_for("participant.manage", token=token))
    return render_form_page(
        "participant/manage.html", form, registration=registration, token=token,
        workshops_open=workshops_open, position=registrations.waiting_position(registration),
        news_token=tokens.news_consent_token(registration) if consents.has_news(registration) else None,
    )


def _update_refused(registration, token, code):
    """The change could not be saved (the registration or the event changed meanwhile): nothing changed."""
    if code == Code.cancelled:
        return _cancelled_page(registration, token)
    if code == Code.event_cancelled:
        reason = _("L'événement a été annulé : votre inscription ne peut plus être modifiée.")
    elif code == Code.closed:
        reason = _("Les inscriptions sont closes : les ateliers ne peuvent plus être changés.")
    else:
        reason = _("Ce choix d'ateliers n'est pas possible.")
    return _message(
        409, _("Modification non enregistrée"), reason + " " + _("Rien n'a été modifié."),
        url_for("participant.manage", token=token), _("Revenir à mon inscription"),
    )


@bp.route("/manage/<token>/cancel", methods=["GET", "POST"])
@personal_link("manage")
def cancel(token):
    """GET asks to confirm; POST cancels (the service frees the seats and sends the CANCEL invite)."""
    registration = _manage_link_registration(token)
    if registration is None:
        return _invalid_link()
    if not registration.is_active:
        return _cancelled_page(registration, token)
    if request.method == "GET":
        return render_template("participant/cancel.html", registration=registration, token=token)
    held_seat = registration.status == RegistrationStatus.confirmed  # only then is there an invite to cancel
    try:
        registrations.cancel_registration(registration)
    except RegistrationError:  # cancelled meanwhile, by another click
        return _cancelled_page(registration, token)
    return render_template("participant/cancelled.html", registration=registration, held_seat=held_seat)


@bp.route("/manage/<token>/erase", methods=["GET", "POST"])
@personal_link("manage")
@public_post_limit()
def erase(token):
    """GET asks to confirm; POST erases the person's data (every registration of the address): the
    registrations to come are cancelled first (seats to the people waiting, CANCEL invite sent)."""
    registration = _manage_link_registration(token)
    if registration is None:
        return _invalid_link()
    people = privacy.same_person(registration)
    if request.method == "GET":
        return render_template("participant/erase.html", registration=registration, people=people, token=token)
    privacy.erase(registration)
    return _message(
        200, _("Vos données sont effacées"),
        _("Vos inscriptions à venir sont annulées et un dernier courriel vous le confirme ; vos nom, adresse, "
          "structure et réponses sont ensuite effacés. Les liens de vos inscriptions ne fonctionnent plus."),
        url_for("public.index"), _("Voir les événements"),
    )


@bp.route("/manage/<token>/my-data", methods=["GET", "POST"])
@personal_link("manage")
@public_post_limit()
def data_access(token):
    """GET explains; POST mails the address a link to download everything held about it."""
    registration = _manage_link_registration(token)
    if registration is None:
        return _invalid_link()
    if request.method == "GET":
        return render_template("participant/data_access.html", registration=registration, token=token)
    privacy.request_data_access(registration)
    return render_template("participant/data_access_sent.html", registration=registration, token=token)


@bp.get("/my-data/<token>")
@personal_link("data-access")
def my_data(token):
    """The download: every registration, answer and mail of the link's address, as readable JSON."""
    try:
        registration = registrations.registration_from_token(
            "data-access", token, max_age=current_app.config["DATA_ACCESS_LINK_MAX_AGE"].total_seconds())
    except tokens.InvalidLink as exc:
        if exc.reason != "expired":
            return _invalid_link()
        return _message(
            410, _("Ce lien de téléchargement a expiré"),
            _("Pour protéger vos données, ce lien n'est valable que peu de temps. Demandez-en un nouveau depuis "
              "la page de votre inscription."),
        )
    body = json.dumps(privacy.data_of(registration), ensure_ascii=False, indent=2)
    return Response(body, content_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="mes-donnees-emgav.json"'})


@bp.route("/news-consent/<token>", methods=["GET", "POST"])
@personal_link("news-consent")
@public_post_limit()
def news_consent(token):
    """Withdraw one's consent to news from the network: the link of the mails shows a button, the
    manage page's button posts here directly. Idempotent."""
    try:
        registration = registrations.registration_from_token("news-consent", token)
    except tokens.InvalidLink:
        return _invalid_link()
    if request.method == "GET":
        return render_template("participant/news_consent.html", token=token)
    consents.withdraw_news(registration)
    return _message(
        200, _("Accord retiré"),
        _("Vous ne recevrez pas les nouvelles du réseau. Les messages liés à vos inscriptions continueront "
          "d'arriver."),
        url_for("public.index"), _("Voir les événements"),
    )


@bp.post("/manage/<token>/leave-waiting-list")
@personal_link("manage")
def leave_waiting_list(token):
    registration = _manage_link_registration(token)
    if registration is None:
        return _invalid_link()
    if not registration.is_active:
        return _cancelled_page(registration, token)
    try:
        registrations.leave_waiting_list(registration)
    except RegistrationError as exc:
        if exc.code == Code.already_cancelled:
            return _cancelled_page(registration, token)
        return _message(
            409, _("Vous n'êtes plus sur la liste d'attente"),
            _("Votre inscription n'est plus sur la liste d'attente : une place vous a peut-être été proposée "
              "ou attribuée entre-temps. Consultez votre inscription pour voir où elle en est."),
            url_for("participant.manage", token=token), _("Voir mon inscription"),
        )
    return _message(
        200, _("Vous avez quitté la liste d'attente"),
        sentence(_("Votre inscription à « %(title)s » est terminée : aucune place ne vous sera proposée. "
                   "Un courriel vous le confirme."), title=_title(registration.event)),
        url_for("public.event", slug=registration.event.slug), _("Voir l'événement"),
    )


def _offer_refused(code):
    """An offer link that is genuine but cannot be answered (any more)."""
    if code == Code.expired:
        return _message(
            410, _("Cette offre a expiré"),
            _("Le délai pour accepter cette place est passé : elle a été proposée à la personne suivante "
              "sur la liste d'attente."),
        )
    if code in (Code.accepted, Code.declined):
        return _message(
            409, _("Vous avez déjà répondu à cette offre"),
            _("Votre réponse à cette offre est déjà enregistrée ; elle ne peut pas être changée. "
              "Le lien de votre inscription, reçu par courriel, montre où elle en est."),
        )
    return _message(
        410, _("Cette offre n'est plus valable"),
        _("Cette place ne peut plus vous être proposée : l'inscription ou l'événement a été annulé, "
          "ou les inscriptions sont closes."),
    )


@bp.route("/offers/<token>", methods=["GET", "POST"])
@personal_link("offer")
def offer(token):
    """A seat offered from the waiting list: GET shows it, POST accepts or declines it."""
    try:
        seat_offer = seats.offer_from_token(token)
    except tokens.InvalidLink:
        return _invalid_link()
    except RegistrationError as exc:
        return _offer_refused(exc.code)
    if request.method == "GET":
        return render_template("participant/offer.html", offer=seat_offer, token=token)
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        abort(400)
    registration = seat_offer.registration
    try:
        if answer == "accept":
            seats.accept_offer(seat_offer)
        else:
            seats.decline_offer(seat_offer)
    except RegistrationError as exc:  # answered or expired meanwhile
        return _offer_refused(exc.code)
    if answer == "decline" and seat_offer.workshop is None:
        return _message(
            200, _("Offre déclinée"),
            sentence(_("C'est noté : la place est proposée à la personne suivante et votre inscription à "
                       "« %(title)s » prend fin. Un courriel vous le confirme."), title=_title(registration.event)),
            url_for("public.index"), _("Voir les événements"),
        )
    if answer == "decline":
        return _message(
            200, _("Offre déclinée"),
            sentence(_("C'est noté : la place dans l'atelier « %(title)s » est proposée à la personne suivante. "
                       "Votre inscription à l'événement reste valable."),
                     title=_title(registration.event, seat_offer.workshop.title)),
            _manage_url(registration), _("Voir mon inscription"),
        )
    return render_template("participant/offer_accepted.html", offer=seat_offer, registration=registration,
                           manage_url=_manage_url(registration))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token):
    """Stop bulk mail (organiser mailings, surveys) to an address; never a registration's mails.

    GET shows a button. POST unsubscribes, idempotently: the one-click POST of mail providers
    (RFC 8058: body `List-Unsubscribe=One-Click`, no cookie, no CSRF token) as it comes, the
    page's own form with its CSRF token. Not rate-limited: providers post from few addresses,
    and the signed link is all it takes.
    """
    try:
        digest = tokens.read_unsubscribe_token(token)
    except tokens.InvalidLink:
        return _invalid_link()
    if request.method == "GET":
        return render_template("participant/unsubscribe.html", token=token)
    if request.form.get("List-Unsubscribe") != "One-Click":
        csrf.protect()
    suppressions.unsubscribe(digest)
    return _message(
        200, _("Adresse retirée des envois"),
        _("Vous ne recevrez plus les envois des personnes qui organisent les événements ni les questionnaires. "
          "Les messages liés à vos inscriptions (confirmations, changements, rappels) continueront d'arriver."),
        url_for("public.index"), _("Voir les événements"),
    )


@bp.route("/lost-link", methods=["GET", "POST"])
@public_post_limit()
def lost_link():
    """Mail a person the links of their registrations; the answer never tells whether any exist.

    The request only hands the address to a worker, which looks it up and mails: a registered
    address and an unknown one take the same work here, so the answer's timing tells nothing either."""
    form = LostLinkForm()
    if form.validate_on_submit():
        if not form.website.data:
            send_task(SEND_LOST_LINKS, form.email.data)
        return render_template("participant/lost_link_sent.html", email=form.email.data)
    return render_form_page("participant/lost_link.html", form)
