"""How a job can fail: worth retrying, or not."""


class JobError(Exception):
    """A job failure with a reason that is safe to show to the user."""


class TransientJobError(JobError):
    """Timeouts, 429, 5xx: retried with backoff."""


class PermanentJobError(JobError):
    """Refused URL, 4xx, undecodable image: not retried; waiters get ``image_failed``."""
