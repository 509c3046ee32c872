"""Why a registration step or an account operation was refused: exceptions with an enum of
reasons, raised by the services and turned into friendly pages or messages by the views."""
import enum


class RegistrationErrorCode(enum.StrEnum):
    closed = "closed"                        # the event takes no registrations (not open, closed, cancelled)
    already_confirmed = "already_confirmed"  # a confirmation link used a second time
    cancelled = "cancelled"                  # the registration is cancelled
    already_cancelled = "already_cancelled"  # cancelling (or leaving the list) a second time
    not_waiting = "not_waiting"              # leaving a waiting list the person is no longer on
    already_prioritised = "already_prioritised"  # put at the front of the waiting list a second time
    already_registered = "already_registered"    # an organiser adds an address that has an active registration
    not_awaiting = "not_awaiting"            # accepting or declining a request that awaits no decision (any more)
    event_cancelled = "event_cancelled"
    full = "full"                            # no free seat for a person added at the door
    unknown_workshop = "unknown_workshop"    # a workshop of another event
    workshops_overlap = "workshops_overlap"
    # A seat offer that can no longer be answered: it was already answered, or it ended.
    expired = "expired"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


class RegistrationError(Exception):
    """A registration step that cannot be done; `code` (a RegistrationErrorCode) says why."""

    def __init__(self, code):
        self.code = RegistrationErrorCode(code)
        super().__init__(self.code.value)


class AccountErrorCode(enum.StrEnum):
    invalid_email = "invalid_email"
    duplicate_email = "duplicate_email"
    unknown_email = "unknown_email"
    password_too_short = "password_too_short"
    password_too_long = "password_too_long"
    wrong_password = "wrong_password"    # the current password, when changing it
    own_account = "own_account"          # an admin disabling their own account
    account_disabled = "account_disabled"  # assigning a disabled account to an event


class AccountError(Exception):
    """An account operation that cannot be done; `code` (an AccountErrorCode) says why."""

    def __init__(self, code):
        self.code = AccountErrorCode(code)
        super().__init__(self.code.value)


class MailingErrorCode(enum.StrEnum):
    unknown_placeholder = "unknown_placeholder"  # a {name} the mailing cannot fill in (`names`)
    not_editable = "not_editable"  # changing or sending a mailing that is scheduled, sent or cancelled
    not_cancellable = "not_cancellable"  # cancelling a mailing that is sent or already cancelled
    no_recipient = "no_recipient"  # the audience selects nobody (a test needs a person's data)
    past_moment = "past_moment"    # scheduling at a moment that has passed


class MailingError(Exception):
    """A mailing operation that cannot be done; `code` (a MailingErrorCode) says why, `names` lists
    the unknown placeholders."""

    def __init__(self, code, names=()):
        self.code = MailingErrorCode(code)
        self.names = list(names)
        super().__init__(self.code.value)
