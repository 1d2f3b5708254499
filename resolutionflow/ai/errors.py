class AIError(Exception):
    """The one error the AI door raises. Views turn it into a retry partial.

    `kind` names what happened (busy, timeout, invalid_output, truncated, refused, api_error,
    connection); `message` is safe to show an engineer. `busy` is the provider's 429/529 after the
    SDK's retries, or the account's AI budget being used up: `retry_after` says in how many
    seconds to try again.
    """

    MESSAGES = {
        "busy": "The AI is busy right now.",
        "overloaded": "The AI service is overloaded right now.",
        "rate_limited": "The AI service is rate-limiting us right now.",
        "timeout": "The AI took too long to answer.",
        "invalid_output": "The AI gave an answer we could not read.",
        "truncated": "The AI's answer was cut off before it finished.",
        "refused": "The AI declined to answer this request.",
        "connection": "The AI service could not be reached.",
        "api_error": "The AI service returned an error.",
    }
    NOT_RETRYABLE = frozenset({"refused"})

    def __init__(self, kind: str, detail: str = "", *, retry_after: int | None = None) -> None:
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(f"{kind}: {detail}" if detail else kind)

    @property
    def retryable(self) -> bool:
        return self.kind not in self.NOT_RETRYABLE

    @property
    def busy(self) -> bool:
        return self.kind == "busy"

    @property
    def message(self) -> str:
        if self.busy:
            wait = self.retry_after or 1
            return f"{self.MESSAGES['busy']} Nothing you entered was lost. You can try again in {wait} s."
        base = self.MESSAGES.get(self.kind, "The AI call failed.")
        return f"{base} Nothing you entered was lost." + (" You can try again." if self.retryable else "")
