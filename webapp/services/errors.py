"""Why a registration step was refused: one exception and one enum of reasons, raised by the
services and turned into friendly pages by the views."""
import enum


class RegistrationErrorCode(enum.StrEnum):
    closed = "closed"                        # the event takes no registrations (not open, closed, cancelled)
    already_confirmed = "already_confirmed"  # a confirmation link used a second time
    cancelled = "cancelled"                  # the registration is cancelled
    already_cancelled = "already_cancelled"  # cancelling (or leaving the list) a second time
    not_waiting = "not_waiting"              # leaving a waiting list the person is no longer on
    event_cancelled = "event_cancelled"
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
