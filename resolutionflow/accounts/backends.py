from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Log in by e-mail (case-insensitive). Deactivated and soft-deleted users cannot log in,
    and an already open login of such a user stops working at the next request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (kwargs.get("email") or username or "").strip().lower()
        return super().authenticate(request, username=email, password=password)

    def user_can_authenticate(self, user) -> bool:
        return getattr(user, "is_active", False) and getattr(user, "deleted_at", None) is None

    def get_user(self, user_id):
        """The logged-in user of each request, with their account in the same query (every page
        shows it)."""
        model = get_user_model()
        try:
            user = model._default_manager.select_related("account").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
