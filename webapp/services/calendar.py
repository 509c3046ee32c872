"""Calendar data: invites for a registration (METHOD:REQUEST / CANCEL) and public event files."""


def build_invite(registration, method="REQUEST", sequence=None):
    """The .ics (bytes) sent to one participant; see DESIGN.md "Calendar invites"."""
    raise NotImplementedError


def build_event_calendar(events):
    """Public calendar (bytes, METHOD:PUBLISH) for one or several published events."""
    raise NotImplementedError
