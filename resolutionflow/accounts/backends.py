from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Log in by e-mail (case-insensitive). Deactivated and soft-deleted users cannot log in,
    and an already open login of such a user stops working at the next request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (kwargs.get("email") or username or "").strip().lower()
        return super().authenticate(request, username=email, password=password)

    def user_can_authenticate(self, user) -> bool:
        return getattr(user, "is_active", False) and getattr(user, "deleted_at", None) is None
