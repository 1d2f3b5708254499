"""The demo AI's knowledge: eight common MSP problems, each with its opening questions and its
hypotheses (checks, then a fix), plus the generic path; and the words that classify an intake.
Read by sessions_app.demo, which walks them as the engineer answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# --- building blocks ---------------------------------------------------------------------


def ask(text, why, options=(), free=True, skip=True):
    return {
        "type": "question",
        "question": {
            "text": text,
            "why": why,
            "options": [{"label": label, "value": value} for label, value in options],
            "allow_free_text": free,
            "allow_skip": skip,
        },
        "action": None,
        "resolution": None,
    }


def act(instruction, why, expected, kind="instruction"):
    return {
        "type": "action",
        "question": None,
        "resolution": None,
        "action": {
            "instruction": instruction,
            "why": why,
            "kind": kind,
            "expected_outcome": expected,
            "script_template": None,
            "script_parameters": None,
        },
    }


def propose(fix, summary, follow_ups):
    return {
        "type": "resolution_suggestion",
        "question": None,
        "action": None,
        "resolution": {"fix": fix, "summary": summary, "follow_ups": list(follow_ups)},
    }


def step_text(step: dict) -> str:
    """The words that identify a step: a question's text, an action's instruction, a fix."""
    if step.get("type") == "question":
        return (step.get("question") or {}).get("text", "")
    if step.get("type") == "action":
        return (step.get("action") or {}).get("instruction", "")
    return (step.get("resolution") or {}).get("fix", "")


YES_NO = (("Yes", "yes"), ("No", "no"), ("Not sure", "unsure"))


@dataclass(frozen=True)
class Step:
    """One step the demo can give. `routes` (answer value → hypothesis keys) says which
    hypotheses an answer points to first; `rules_out` which it rules out."""

    key: str
    turn: dict
    confidence: float
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rules_out: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # answer value → a regex: when the engineer's own words already say it, the question is
    # taken as answered and never asked.
    infer: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return step_text(self.turn)


@dataclass(frozen=True)
class Fix:
    """A hypothesis's fix. `title` is what to do; `if_said` swaps in another title when the
    engineer's own words say so (a phone named, a printer shared by everyone…)."""

    title: str
    why: str  # general knowledge: why this fix fits this cause, never a claim about this session
    follow_ups: tuple[str, ...]
    template: str | None = None
    if_said: tuple[tuple[str, str], ...] = ()

    def titles(self) -> set[str]:
        return {self.title, *(title for _, title in self.if_said)}

    def title_for(self, said: str) -> str:
        return next((title for pattern, title in self.if_said if re.search(pattern, said, re.I)), self.title)


@dataclass(frozen=True)
class Hypothesis:
    key: str
    name: str  # "stale cached Office tokens": for the reasoning and the escalation suggestion
    fix: Fix
    checks: tuple[Step, ...] = ()
    apply: Step | None = None  # an instruction that carries the fix out, before the resolution
    keywords: str = ""  # a free-text answer matching these points to this hypothesis first
    # Open questions and checks: (text, why) or (text, why, the step key that settles it).
    lane: tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]] = ((), ())
    # The summary claims a symptom: it is used only when the intake says so (this regex), else the
    # intake's own words are (a printer with a service code is not "offline").
    summary_when: str | None = None


@dataclass(frozen=True)
class Scenario:
    key: str
    patterns: tuple[tuple[str, int], ...]  # (regex on the intake, weight)
    summary: str | None  # None: summarise the intake itself
    domain: str
    urgency: str
    symptoms: tuple[str, ...]
    opening: tuple[Step, ...]
    hypotheses: tuple[Hypothesis, ...]
    # Open questions and checks: (text, why) or (text, why, the step key that settles it).
    lane: tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]] = ((), ())
    # The summary claims a symptom: it is used only when the intake says so (this regex), else the
    # intake's own words are (a printer with a service code is not "offline").
    summary_when: str | None = None

    def score(self, text: str) -> int:
        return sum(weight for pattern, weight in self.patterns if re.search(pattern, text, re.I))


# --- the scenarios --------------------------------------------------------------------------

OUTLOOK_PASSWORD = Scenario(
    key="outlook_password",
    patterns=(
        (r"outlook.*(password|credential|prompt|sign.?in)|(password|credential|prompt).*outlook", 6),
        (r"\b(password|credential)s? prompts?\b|keeps asking .*password", 2),
    ),
    summary="Outlook keeps prompting for the password",
    domain="email",
    urgency="medium",
    symptoms=("Outlook password prompts",),
    opening=(
        Step(
            "pw_change",
            ask(
                "Did the prompts start after a password change or an MFA change?",
                "A stale cached credential after a change is the most common cause.",
                YES_NO,
            ),
            0.3,
            routes={"yes": ("stale_tokens", "modern_auth"), "no": ("modern_auth", "stale_tokens")},
        ),
    ),
    hypotheses=(
        Hypothesis(
            "stale_tokens",
            "stale cached Office tokens",
            Fix(
                "Clear stale Office credentials from Credential Manager and sign in once with modern authentication.",
                "Outlook keeps retrying a cached token that no longer matches the account; clearing it forces "
                "one clean sign-in.",
                (
                    "Tell the user to expect one prompt after future password changes.",
                    "Check other devices (phone, tablet) for the old password.",
                ),
                template="clear-office-credentials",
            ),
            checks=(
                Step(
                    "owa",
                    ask(
                        "Does Outlook on the web (OWA) sign in without prompting?",
                        "If OWA works, the account is fine and the problem is the desktop client.",
                        (("Works fine", "owa_ok"), ("Also prompts or fails", "owa_fails")),
                    ),
                    0.5,
                    rules_out={"owa_fails": ("stale_tokens",)},
                    routes={"owa_fails": ("account_state",)},
                    infer={
                        "owa_fails": r"\bowa (also |too )?(prompts|fails)",
                        "owa_ok": r"\bowa (works|signs in|is fine)",
                    },
                ),
            ),
            apply=Step(
                "clear_tokens",
                act(
                    "Open Credential Manager → Windows Credentials and remove every entry that starts with "
                    "MicrosoftOffice16_Data or mentions outlook.office365.com; then restart Outlook and sign in "
                    "once.",
                    "Removing the stale tokens forces one clean modern-auth sign-in.",
                    "Outlook asks once, accepts the password and stops prompting.",
                ),
                0.75,
            ),
            keywords=r"credential|token|cache|owa (works|fine|signs in)|no prompt",
            lane=(
                (
                    (
                        "Does Outlook on the web work with the same password?",
                        "Separates the account from the client.",
                        "owa",
                    ),
                ),
                (
                    (
                        "Check Credential Manager for old Office entries",
                        "Stale entries cause repeated prompts.",
                        "clear_tokens",
                    ),
                ),
            ),
        ),
        Hypothesis(
            "modern_auth",
            "Outlook falling back to basic authentication",
            Fix(
                "Re-enable modern authentication for Office on the PC and create a new Outlook profile.",
                "An Office build or registry setting that disables modern authentication makes Outlook ask for "
                "a password Exchange Online no longer accepts that way.",
                ("Keep Office on the current channel so modern authentication stays supported.",),
            ),
            checks=(
                Step(
                    "office_build",
                    act(
                        "In Outlook, open File → Office Account and note the version and build; check "
                        "HKCU\\Software\\Microsoft\\Office\\16.0\\Common\\Identity for EnableADAL or "
                        "DisableADALatopWAMOverride.",
                        "An old build or those values turn modern authentication off.",
                        "A current build with neither value set to disable modern auth.",
                        kind="info_request",
                    ),
                    0.45,
                ),
            ),
            keywords=r"basic auth|modern auth|adal|wam|old (office|build)",
            lane=((), (("Confirm the Office build is current", "Old builds mishandle modern auth.", "office_build"),)),
        ),
        Hypothesis(
            "account_state",
            "a problem with the account itself (MFA or a conditional access block)",
            Fix(
                "Re-register the user's MFA method and clear any sign-in block in Entra ID, then sign in again.",
                "When the web sign-in fails too, the account's MFA registration or a conditional access block is "
                "refusing the sign-in, not the desktop client.",
                ("Review the user's Entra ID sign-in log for the failure reason.",),
            ),
            checks=(
                Step(
                    "signin_log",
                    act(
                        "Open Entra ID → Users → the user → Sign-in logs and note the failure reason of the latest "
                        "failed sign-ins.",
                        "The sign-in log names what refused the sign-in (MFA, conditional access, a bad password).",
                        "A failure reason that repeats.",
                        kind="info_request",
                    ),
                    0.5,
                ),
            ),
            keywords=r"mfa|conditional access|blocked|sign-?in log|owa (fails|prompts)",
        ),
    ),
)

OUTLOOK_SYNC = Scenario(
    key="outlook_sync",
    patterns=(
        (
            r"outlook.*\b(sync|syncing|synchroni[sz]|updat|stuck|disconnected|offline|not (receiving|showing|getting))",
            5,
        ),
        (r"\b(sync|syncing)\b.*outlook|not (receiving|getting) (new )?(e-?mails?|mail)", 4),
        (r"\bost\b|send/receive|inbox (is )?(not|isn't) updat", 3),
    ),
    summary="Outlook is not syncing mail",
    domain="email",
    urgency="medium",
    symptoms=("Outlook not syncing",),
    opening=(
        Step(
            "owa_current",
            ask(
                "Does Outlook on the web (OWA) show the new mail that the desktop Outlook is missing?",
                "If OWA is up to date the mailbox is fine and the desktop client is stuck; if not, the problem "
                "is on the mailbox side.",
                (("Yes, OWA is up to date", "owa_current"), ("No, OWA is missing it too", "owa_missing")),
            ),
            0.3,
            routes={"owa_current": ("ost", "profile", "quota"), "owa_missing": ("quota", "ost", "profile")},
        ),
    ),
    hypotheses=(
        Hypothesis(
            "ost",
            "a damaged or stalled offline cache (.ost)",
            Fix(
                "Rebuild the Outlook offline cache: close Outlook, rename the user's .ost file and reopen Outlook "
                "to resync.",
                "A damaged .ost stops cached-mode Outlook from applying changes from the server; a fresh cache "
                "downloads the mailbox again.",
                ("Large mailboxes take a while to resync: tell the user before they start.",),
            ),
            checks=(
                Step(
                    "status_bar",
                    ask(
                        "What does Outlook's status bar say at the bottom right?",
                        "'Disconnected' or 'Working offline' is a connection state; 'All folders are up to date' "
                        "with missing mail points at the cache.",
                        (
                            ("All folders are up to date", "up_to_date"),
                            ("Disconnected / Trying to connect", "disconnected"),
                            ("Working offline", "offline"),
                        ),
                    ),
                    0.45,
                    routes={"disconnected": ("profile",), "offline": ("profile",)},
                ),
            ),
            keywords=r"\bost\b|cache|up to date",
            lane=(
                (),
                (("Look at Outlook's status bar", "Shows whether Outlook thinks it is connected.", "status_bar"),),
            ),
        ),
        Hypothesis(
            "profile",
            "a broken Outlook profile or connection",
            Fix(
                "Create a new Outlook profile for the user, set it as the default and let it sync.",
                "A profile with a broken connection setting keeps Outlook from reaching Exchange Online; a new "
                "profile starts from autodiscover again.",
                ("Remove the old profile once the new one has synced.",),
            ),
            checks=(
                Step(
                    "connection_status",
                    act(
                        "Ctrl+right-click the Outlook icon in the notification area → Connection Status, and note "
                        "the status of each connection.",
                        "Shows whether Outlook reaches Exchange Online and which connections fail.",
                        "Every connection 'Established'.",
                        kind="info_request",
                    ),
                    0.5,
                ),
            ),
            keywords=r"disconnect|offline|profile|connection|autodiscover",
        ),
        Hypothesis(
            "quota",
            "a full mailbox",
            Fix(
                "Free space in the mailbox (archive old mail, empty Deleted Items) or raise its quota, then let "
                "Outlook resync.",
                "A mailbox over its quota stops receiving, so nothing new reaches any client.",
                ("Turn on archiving for mailboxes near their quota.",),
            ),
            checks=(
                Step(
                    "mailbox_size",
                    act(
                        "In the Microsoft 365 admin center, open the user → Mail → Mailbox storage, and note the "
                        "size against the quota.",
                        "A mailbox over its quota stops receiving mail.",
                        "Well under the quota.",
                        kind="info_request",
                    ),
                    0.45,
                ),
            ),
            keywords=r"full|quota|storage|space|\d+(\.\d+)? ?[GM]B\b",
            lane=((("Is the mailbox close to its quota?", "A full mailbox stops receiving.", "mailbox_size"),), ()),
        ),
    ),
)

SHARED_MAILBOX = Scenario(
    key="shared_mailbox",
    patterns=((r"shared (mail ?box|inbox)", 8), (r"\bdelegat|full access|automap", 3)),
    summary=None,
    domain="email",
    urgency="medium",
    symptoms=("shared mailbox",),
    opening=(
        Step(
            "owa_open",
            ask(
                "Can the user open the shared mailbox in Outlook on the web (Open another mailbox)?",
                "If OWA opens it, the permission is there and desktop Outlook is the problem.",
                (("Yes, it opens", "opens"), ("No, access denied", "denied")),
            ),
            0.3,
            routes={"opens": ("automap", "profile_cache"), "denied": ("permission",)},
            rules_out={"opens": ("permission",)},
            infer={"denied": r"access denied|no access|not allowed|permission", "opens": r"\bopens (fine|in owa)"},
        ),
    ),
    hypotheses=(
        Hypothesis(
            "permission",
            "missing Full Access permission",
            Fix(
                "Give the user Full Access to the shared mailbox (Exchange admin center → the mailbox → Delegation) "
                "with automapping, then restart Outlook once it has synced.",
                "Without Full Access the mailbox cannot be opened anywhere; automapping adds it to Outlook.",
                ("Grant shared-mailbox access through a group so new starters get it.",),
            ),
            checks=(
                Step(
                    "delegation",
                    act(
                        "In the Exchange admin center, open the shared mailbox → Delegation and check whether the "
                        "user is listed under Read and manage (Full Access).",
                        "Shows whether the permission exists at all.",
                        "The user is not listed.",
                        kind="verification",
                    ),
                    0.55,
                ),
            ),
            keywords=r"denied|permission|access",
        ),
        Hypothesis(
            "automap",
            "a permission granted recently that has not reached Outlook yet",
            Fix(
                "Wait for the permission to sync (up to two hours), then restart Outlook; add the mailbox by hand "
                "under Account Settings if it still does not appear.",
                "Automapping only adds a shared mailbox after the permission has replicated and Outlook restarts.",
                ("Tell users that new shared-mailbox access can take up to two hours to appear.",),
            ),
            checks=(
                Step(
                    "granted_when",
                    ask(
                        "When was the user given access to the shared mailbox?",
                        "Permissions take up to two hours to reach Outlook.",
                        (
                            ("In the last two hours", "recent"),
                            ("Earlier than that", "earlier"),
                            ("Don't know", "unknown"),
                        ),
                    ),
                    0.45,
                    rules_out={"earlier": ("automap",)},
                    routes={"earlier": ("profile_cache",)},
                ),
            ),
            keywords=r"today|just (now|given|added)|recent",
        ),
        Hypothesis(
            "profile_cache",
            "an Outlook profile that no longer automaps the mailbox",
            Fix(
                "Re-create the user's Outlook profile so automapping adds the shared mailbox again.",
                "A profile created before the permission, or with a damaged cache, does not pick up automapped "
                "mailboxes.",
                ("Remove the old profile once the new one shows the shared mailbox.",),
            ),
            keywords=r"profile|cache|other (pc|computer)",
        ),
    ),
)

MAIL_FLOW = Scenario(
    key="mail_flow",
    patterns=(
        (r"\bexchange\b|msexchange|\bsmtp\b|\bndr\b|mail ?flow|transport", 4),
        (r"\b[45]\.\d\.\d{1,3}\b|bounce|undeliver|queue[sd]? .*mail|mail .*queue", 3),
    ),
    summary=None,
    domain="email",
    urgency="high",
    symptoms=("mail delivery errors",),
    opening=(
        Step(
            "direction",
            ask(
                "Is mail failing inbound, outbound, or both?",
                "Inbound failures point at MX, the connector or back pressure; outbound at relay, "
                "certificates or reputation.",
                (("Inbound", "inbound"), ("Outbound", "outbound"), ("Both", "both"), ("Internal only", "internal")),
            ),
            0.3,
            routes={
                "inbound": ("back_pressure", "connector"),
                "outbound": ("connector", "back_pressure"),
                "both": ("back_pressure", "connector"),
                "internal": ("back_pressure",),
            },
        ),
    ),
    hypotheses=(
        Hypothesis(
            "back_pressure",
            "transport back pressure (low disk space on the queue drive)",
            Fix(
                "Free disk space on the drive that holds the transport queue database (or move the queue), then "
                "restart the Microsoft Exchange Transport service.",
                "Exchange refuses new messages with 452 4.3.1 when the queue drive runs low on space.",
                ("Monitor free space on the transport queue drive.",),
            ),
            checks=(
                Step(
                    "queue_disk",
                    act(
                        "On the Exchange server run Get-Queue and check free space on the drive holding the "
                        "transport queue (Get-ExchangeDiagnosticInfo -Process EdgeTransport -Component "
                        "ResourceThrottling shows the pressure level).",
                        "Back pressure rejects mail when disk or memory runs low.",
                        "Queues growing and a resource at High pressure.",
                        kind="info_request",
                    ),
                    0.5,
                ),
            ),
            keywords=r"4\.3\.1|insufficient|disk|space|back ?pressure|resource",
        ),
        Hypothesis(
            "connector",
            "a connector or certificate problem",
            Fix(
                "Renew or rebind the certificate on the send/receive connector and restart the transport service.",
                "An expired or unbound certificate makes TLS fail on the connector, so the other side refuses the "
                "session.",
                ("Add the connector certificate's expiry date to the client's renewals list.",),
            ),
            checks=(
                Step(
                    "certificate",
                    act(
                        "Run Get-ExchangeCertificate and check that the certificate bound to SMTP is valid and not "
                        "expired; then run Test-MailFlow.",
                        "An expired SMTP certificate breaks TLS on the connectors.",
                        "A valid certificate with the SMTP service.",
                        kind="info_request",
                    ),
                    0.5,
                ),
            ),
            keywords=r"certificate|tls|connector|5\.7\.\d",
        ),
    ),
)

VPN = Scenario(
    key="vpn",
    patterns=((r"\bvpn\b|forticlient|anyconnect|globalprotect|\btunnel\b", 6),),
    summary="VPN connection drops every few minutes",
    domain="networking",
    urgency="high",
    symptoms=("VPN disconnects repeatedly",),
    opening=(
        Step(
            "where",
            ask(
                "Does the drop happen on every network, or only on the user's home Wi-Fi?",
                "A drop on one network points at that network; everywhere points at the client or the gateway.",
                (("Only at home", "home_only"), ("Everywhere", "everywhere"), ("Not tested yet", "untested")),
            ),
            0.3,
            routes={"home_only": ("nat_timeout", "client"), "everywhere": ("client", "nat_timeout")},
            rules_out={"everywhere": ("nat_timeout",)},
        ),
    ),
    hypotheses=(
        Hypothesis(
            "nat_timeout",
            "the home router dropping idle UDP sessions",
            Fix(
                "Switch the VPN client to TCP/443 (SSL) for this user and turn off the router's aggressive UDP "
                "timeout.",
                "A home router that drops idle UDP sessions makes dead-peer detection fail every few minutes.",
                ("Note the router model in the client's notes.", "Watch the user's tunnel uptime for a week."),
            ),
            checks=(
                Step(
                    "vpn_log",
                    act(
                        "Export the VPN client log covering two drops and look for the disconnect reason "
                        "(DPD timeout, rekey failure, or network change).",
                        "The client log names the reason the tunnel went down.",
                        "A repeated reason at each drop.",
                        kind="info_request",
                    ),
                    0.55,
                ),
            ),
            keywords=r"dpd|dead peer|udp|router|home",
            lane=((), (("Collect the VPN client log around a drop", "Shows the disconnect reason.", "vpn_log"),)),
        ),
        Hypothesis(
            "client",
            "the VPN client or its rekey timers",
            Fix(
                "Update the VPN client to the gateway's supported version and align its rekey and idle timers "
                "with the gateway.",
                "A client out of step with the gateway's rekey or idle timers drops the tunnel at a fixed interval.",
                ("Pin the client version in the deployment tool.",),
            ),
            checks=(
                Step(
                    "interval",
                    ask(
                        "Are the drops at a regular interval (for example every 5 or 10 minutes)?",
                        "A fixed interval points at a timeout or rekey setting rather than a flaky line.",
                        (("Regular interval", "regular"), ("Random", "random")),
                    ),
                    0.45,
                ),
            ),
            keywords=r"rekey|interval|every \d+|version|update",
            lane=(
                (("How many minutes between drops, exactly?", "A fixed interval suggests a timer.", "interval"),),
                (),
            ),
        ),
    ),
)

PRINTER = Scenario(
    key="printer",
    patterns=((r"\bprint(er|ers|ing)?\b|\bspool", 6),),
    summary="Printer shows offline",
    summary_when=r"\boffline\b",
    domain="printing",
    urgency="medium",
    symptoms=("printer offline",),
    opening=(
        Step(
            "scope",
            ask(
                "Is the printer failing for everyone who prints to it, or only for this user?",
                "Everyone points at the printer or the print server; one user points at their PC.",
                (("Everyone", "everyone"), ("Only this user", "one_user"), ("Don't know", "unknown")),
            ),
            0.3,
            routes={"everyone": ("spooler", "port"), "one_user": ("port", "spooler")},
        ),
    ),
    hypotheses=(
        Hypothesis(
            "port",
            "a printer port pointing at an old IP address",
            Fix(
                "Update the printer port to the printer's current IP and reserve that IP in DHCP.",
                "When a printer takes a new DHCP lease, a port that still points at the old address shows it offline.",
                ("Reserve IPs for all printers at this site.", "Clear the stuck jobs from the queue."),
            ),
            checks=(
                Step(
                    "config_page",
                    act(
                        "Print a configuration page from the printer's front panel and compare its IP address with "
                        "the port configured on the PC (Printer properties → Ports).",
                        "A DHCP change leaves the PC pointing at the old address.",
                        "The two addresses differ.",
                        kind="verification",
                    ),
                    0.55,
                ),
            ),
            keywords=r"\bip\b|address|port|dhcp",
            lane=((("Can you ping the printer's IP address?", "Confirms it is on the network."),), ()),
        ),
        Hypothesis(
            "spooler",
            "a stuck print spooler",
            Fix(
                "Restart the Print Spooler service on the print server and clear the stuck jobs.",
                "A stuck job can hang the spooler, and every queue it serves then shows offline.",
                ("Watch the spooler for repeat hangs; update the printer's driver if it recurs.",),
            ),
            checks=(
                Step(
                    "queue_jobs",
                    act(
                        "Open the print queue on the print server and note any job in an error state or stuck "
                        "'Deleting'.",
                        "A stuck job blocks the queue for everyone.",
                        "A job stuck at the top of the queue.",
                        kind="info_request",
                    ),
                    0.5,
                ),
            ),
            keywords=r"spool|queue|stuck|jobs?",
        ),
    ),
)

LOCKOUT = Scenario(
    key="lockout",
    patterns=((r"lock(ed|s)? ?out|lockout", 7), (r"\baccount\b.*\block", 2)),
    summary="User account keeps locking out",
    domain="active_directory",
    urgency="high",
    symptoms=("account locked out",),
    opening=(
        Step(
            "changed",
            ask(
                "Has the user changed their password in the last few days?",
                "Lockouts after a change usually come from a device still using the old password.",
                YES_NO,
            ),
            0.35,
            routes={"yes": ("old_password",), "no": ("attack", "old_password")},
        ),
    ),
    hypotheses=(
        Hypothesis(
            "old_password",
            "a device retrying the old password",
            Fix(
                "Remove the old password from the device named in event 4740 and unlock the account.",
                "A device that keeps retrying an old password locks the account each time it syncs.",
                ("Ask the user to update the password on every device after a change.",),
                template="unlock-ad-account",
                if_said=(
                    (
                        r"\b(i?phone|android|mobile|tablet|ipad)\b",
                        "Remove the old password from the user's phone mail profile and unlock the account.",
                    ),
                ),
            ),
            checks=(
                Step(
                    "event_4740",
                    act(
                        "On the PDC emulator, filter the Security log for event 4740 for this user and note the "
                        "Caller Computer Name.",
                        "Event 4740 records which machine sent the bad passwords.",
                        "A computer or device name repeats.",
                        kind="info_request",
                    ),
                    0.6,
                ),
            ),
            keywords=r"phone|device|mapped drive|old password|4740",
            lane=(
                (("Does the user have a phone or tablet with company mail?", "Phones are the usual culprit."),),
                (
                    (
                        "Find the lockout source in the PDC's security log (event 4740)",
                        "Names the calling computer.",
                        "event_4740",
                    ),
                ),
            ),
        ),
        Hypothesis(
            "stale_session",
            "a saved credential or old session on another computer",
            Fix(
                "Sign the user out of the other computers they used, remove saved Windows credentials there, and "
                "unlock the account.",
                "A disconnected session or a saved credential on another computer keeps offering the old password.",
                ("Set an idle-session limit on the terminal servers.",),
                template="unlock-ad-account",
            ),
            checks=(
                Step(
                    "other_sessions",
                    ask(
                        "Is the user still signed in on another computer or a terminal server?",
                        "An old session keeps using the old password in the background.",
                        YES_NO,
                    ),
                    0.45,
                ),
            ),
            keywords=r"session|terminal|rdp|another (pc|computer)|saved",
        ),
        Hypothesis(
            "attack",
            "password guessing from outside",
            Fix(
                "Block the source of the failed sign-ins, reset the user's password and require MFA for the account.",
                "Repeated bad passwords from an unknown source are someone guessing, not a forgotten device.",
                ("Review the other accounts the same source tried.",),
            ),
            checks=(
                Step(
                    "source_ip",
                    act(
                        "Check the failed sign-ins (event 4625, or the Entra ID sign-in log) for the source address "
                        "and note whether it is inside the network.",
                        "An outside source means someone is guessing the password.",
                        "The address of the failures.",
                        kind="info_request",
                    ),
                    0.45,
                ),
            ),
            keywords=r"unknown|external|outside|foreign|attack|guess",
        ),
    ),
)

SLOW = Scenario(
    key="slow",
    patterns=((r"\bslow|sluggish|\bfreez|\bhangs?\b|\bhanging\b|\blag(gy|s)?\b|100 ?%", 5),),
    summary="Computer is slow",
    domain="endpoint",
    urgency="medium",
    symptoms=("slow performance",),
    opening=(
        Step(
            "when_slow",
            ask(
                "Is it slow all the time, or only at boot and sign-in?",
                "Boot-only slowness points at start-up items or disk; constant slowness at resources.",
                (("All the time", "always"), ("Only at boot/sign-in", "boot"), ("Only in one application", "one_app")),
            ),
            0.25,
            routes={"always": ("resources", "startup"), "boot": ("startup", "resources"), "one_app": ("app",)},
        ),
    ),
    hypotheses=(
        Hypothesis(
            "startup",
            "heavy start-up items on a busy disk",
            Fix(
                "Disable unneeded start-up items and free disk space; schedule a disk health check.",
                "Many start-up items on a nearly full or failing disk saturate it at boot.",
                ("Consider an SSD if the drive is a hard disk.", "Add disk-space monitoring."),
            ),
            checks=(
                Step(
                    "disk_space",
                    ask(
                        "How much free space is there on C:?",
                        "A nearly full disk slows everything down.",
                        (("Less than 10%", "low"), ("Plenty", "plenty")),
                    ),
                    0.4,
                ),
            ),
            keywords=r"disk|boot|start-?up|full",
        ),
        Hypothesis(
            "resources",
            "a process using up the CPU or memory",
            Fix(
                "End or update the process that saturates the CPU or memory, and stop it from starting automatically.",
                "One runaway process starves everything else of CPU or memory.",
                ("Add the process to monitoring if it recurs.",),
            ),
            checks=(
                Step(
                    "task_manager",
                    act(
                        "Open Task Manager → Performance while it is slow and note CPU, memory and disk usage, and "
                        "the top process on the Processes tab.",
                        "Shows whether CPU, memory or disk is the bottleneck, and what uses it.",
                        "One resource near 100%.",
                        kind="info_request",
                    ),
                    0.45,
                ),
            ),
            keywords=r"cpu|memory|ram|process|100",
            lane=(
                (),
                (
                    (
                        "Look at Task Manager → Performance during the slowness",
                        "Shows what is saturated.",
                        "task_manager",
                    ),
                ),
            ),
        ),
        Hypothesis(
            "app",
            "one application's cache or add-ins",
            Fix(
                "Repair the application and disable its add-ins, then start it again.",
                "An application slow on its own usually carries a bad add-in or a damaged cache.",
                ("Note the add-in in the client's documentation.",),
            ),
            keywords=r"excel|outlook|word|teams|browser|chrome|app",
        ),
    ),
)

SCENARIOS: tuple[Scenario, ...] = (
    OUTLOOK_PASSWORD,
    SHARED_MAILBOX,
    OUTLOOK_SYNC,
    MAIL_FLOW,
    VPN,
    PRINTER,
    LOCKOUT,
    SLOW,
)

# The generic path: no scenario fits. Its fixes quote what the engineer said.
GENERIC = Scenario(
    key="generic",
    patterns=(),
    summary=None,
    domain="other",
    urgency="medium",
    symptoms=(),
    opening=(
        Step(
            "since",
            ask(
                "When did this start, and did anything change around then (updates, new software, moves)?",
                "A recent change is the quickest lead.",
            ),
            0.2,
        ),
        Step(
            "how_many",
            ask(
                "How many users are affected?",
                "One user points at the device or account; many at a shared service.",
                (("Just one", "one"), ("Several", "several"), ("Everyone", "everyone")),
            ),
            0.3,
        ),
    ),
    hypotheses=(
        Hypothesis(
            "recent_change",
            "the change that came just before it",
            Fix(
                "Undo or repair the change the engineer named: {since}",
                "A problem that starts right after a change is most often caused by it.",
                ("Record the change and its effect in the client's change log.",),
            ),
        ),
        Hypothesis(
            "logged_error",
            "the error the event logs name",
            Fix(
                "Fix what the repeating error names: {logged}",
                "The error that repeats when the problem happens usually names the failing part.",
                ("Note the error and its fix in the ticket for next time.",),
            ),
            checks=(
                Step(
                    "logs",
                    act(
                        "Check the System and Application event logs around the time the problem started and note "
                        "any errors.",
                        "Errors at that time usually name the failing component.",
                        "One or more errors that repeat.",
                        kind="info_request",
                    ),
                    0.4,
                ),
                Step(
                    "logged",
                    ask(
                        "What does the repeating error say (source, event ID, message)?",
                        "Its words name the component to fix.",
                        free=True,
                    ),
                    0.45,
                ),
            ),
        ),
    ),
    lane=(
        (("How many users are affected?", "One user or many changes where to look.", "how_many"),),
        (("Check the event logs around the time it started", "Errors there often name the cause.", "logs"),),
    ),
)

# A change named in the engineer's answer to "when did this start" (the generic path's lead).
CHANGE_WORDS = re.compile(
    r"\b(update[sd]?|upgrade[sd]?|install(ed|ing)?|patch(ed)?|new|moved?|changed?|replaced|migrat\w*)\b", re.I
)

# Words that say a domain when no scenario fits (classification uses the intake's own words).
DOMAIN_WORDS = (
    ("email", r"\b(e-?mail|outlook|mailbox|exchange|owa|smtp|calendar|invite)"),
    ("m365", r"\b(teams|onedrive|sharepoint|office 365|microsoft 365|m365|licen[cs]e)"),
    ("active_directory", r"\b(active directory|\bad\b|domain controller|group policy|gpo|entra|azure ad)"),
    ("networking", r"\b(wi-?fi|wireless|network|internet|dns|dhcp|switch|firewall|ethernet)"),
    ("backup", r"\b(backup|restore|veeam|snapshot)"),
    ("virtualization", r"\b(hyper-?v|vmware|esxi|virtual machine|\bvm\b)"),
    ("security", r"\b(phish\w*|malware|virus|ransom\w*|suspicious|breach)"),
    ("cloud", r"\b(azure|aws|cloud)\b"),
    ("hardware", r"\b(monitor|screen|keyboard|mouse|dock|battery|laptop won't|hard ?drive|fan)\b"),
    ("endpoint", r"\b(laptop|desktop|pc|computer|windows|blue screen|bsod)\b"),
)
URGENT = re.compile(r"\b(everyone|all (users|staff)|whole (office|company)|nobody can|outage|down)\b", re.I)
BLOCKED = re.compile(r"\b(can't|cannot|unable|won't|blocked)\b", re.I)
LOG_LINE = re.compile(r"^\s*[\[(]?\d{1,4}[-/.:]\d")  # a line that starts with a date or a time
PROBLEM_LINE = re.compile(r"error|fail|denied|refus|reject|exception|warn|\b[45]\.\d\.\d", re.I)
