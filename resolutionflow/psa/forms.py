from django import forms


class InternalTicketForm(forms.Form):
    title = forms.CharField(max_length=200, strip=True, error_messages={"required": "Give the ticket a title."})
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, strip=True)
