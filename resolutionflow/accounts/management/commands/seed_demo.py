"""Demo data: an MSP with every role in two teams, plus a second account to prove isolation.
Idempotent: running it again changes nothing that is already there (passwords are reset)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from resolutionflow.accounts.models import Account, Role, Team, User
from sessions_app.models import ScriptTemplate

DEMO_PASSWORD = "demo-pass-2026"

ACCOUNTS = [
    {
        "slug": "northwind-msp",
        "name": "Northwind MSP",
        "teams": ["Service Desk", "Projects"],
        "users": [
            ("owner@northwind.example", "Olivia Owner", Role.OWNER, [], False),
            ("admin@northwind.example", "Adam Admin", Role.ADMIN, ["Service Desk"], False),
            ("dana@northwind.example", "Dana Engineer", Role.ENGINEER, ["Service Desk"], True),
            ("eli@northwind.example", "Eli Engineer", Role.ENGINEER, ["Projects"], False),
            ("lee@northwind.example", "Lee L1", Role.L1_TECH, ["Service Desk"], False),
            ("lou@northwind.example", "Lou L1", Role.L1_TECH, ["Projects"], False),
        ],
    },
    {
        "slug": "contoso-it",
        "name": "Contoso IT (second account)",
        "teams": ["Helpdesk"],
        "users": [
            ("owner@contoso.example", "Casey Owner", Role.OWNER, [], False),
            ("sam@contoso.example", "Sam Engineer", Role.ENGINEER, ["Helpdesk"], False),
        ],
    },
]


class Command(BaseCommand):
    help = "Create the demo accounts, teams and users (idempotent) and print the logins."

    @transaction.atomic
    def handle(self, *args, **options):
        rows = []
        for spec in ACCOUNTS:
            account, _ = Account.objects.get_or_create(slug=spec["slug"], defaults={"name": spec["name"]})
            teams = {name: Team.objects.get_or_create(account=account, name=name)[0] for name in spec["teams"]}
            for email, full_name, role, team_names, coverage in spec["users"]:
                user, created = User.objects.get_or_create(
                    email=email,
                    defaults={"account": account, "full_name": full_name, "role": role, "l1_coverage": coverage},
                )
                if created or not user.check_password(DEMO_PASSWORD):
                    user.set_password(DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                user.teams.add(*(teams[n] for n in team_names))
                rows.append((account.name, email, role + (" + L1 coverage" if coverage else "")))
        self._seed_templates()
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for account_name, email, role in rows:
            self.stdout.write(f"  {email:<28} {role:<26} {account_name}")

    def _seed_templates(self) -> None:
        """Two team script templates for the demo account, so fixes can come with a script."""
        account = Account.objects.get(slug="northwind-msp")
        owner = User.objects.get(email="admin@northwind.example")
        templates = [
            (
                "clear-office-credentials",
                "Clear cached Office credentials",
                "Microsoft 365",
                "Removes stale Office/Outlook entries from Credential Manager for one user profile.",
                "$Target = {{ user_principal_name }}\n"
                "cmdkey /list | Select-String 'MicrosoftOffice16_Data' | ForEach-Object {\n"
                "  $entry = ($_ -split 'target=')[1]\n  cmdkey /delete:$entry\n}\n"
                'Write-Output "Cleared cached Office credentials for $Target"',
                [{"key": "user_principal_name", "label": "User principal name", "type": "text", "required": True}],
            ),
            (
                "unlock-ad-account",
                "Unlock an AD account and reset its password",
                "Active Directory",
                "Unlocks the account and sets a temporary password the user must change at next sign-in.",
                "Unlock-ADAccount -Identity {{ sam_account_name }}\n"
                "Set-ADAccountPassword -Identity {{ sam_account_name }} -Reset "
                "-NewPassword (ConvertTo-SecureString {{ temporary_password }} -AsPlainText -Force)\n"
                "Set-ADUser -Identity {{ sam_account_name }} -ChangePasswordAtLogon $true",
                [
                    {"key": "sam_account_name", "label": "Account (sAMAccountName)", "type": "text", "required": True},
                    {"key": "temporary_password", "label": "Temporary password", "type": "password", "required": True},
                ],
            ),
        ]
        for slug, name, category, description, body, parameters in templates:
            ScriptTemplate.objects.get_or_create(
                account=account,
                slug=slug,
                deleted_at=None,
                defaults={
                    "name": name,
                    "category": category,
                    "description": description,
                    "body": body,
                    "parameters": parameters,
                    "visibility": "team",
                    "owner": owner,
                },
            )
