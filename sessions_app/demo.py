"""Demo-mode answers for sessions: deterministic, plausible multi-step troubleshooting for the
common MSP problems, and a sensible generic path otherwise. Registered with the AI door's demo
provider; imported by sessions_app.prompts."""

import re
from typing import Any

from resolutionflow.ai import demo


def _q(text, why, options=(), free=True, skip=True):
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


def _a(instruction, why, expected, kind="instruction"):
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


def _r(fix, summary, follow_ups):
    return {
        "type": "resolution_suggestion",
        "question": None,
        "action": None,
        "resolution": {"fix": fix, "summary": summary, "follow_ups": list(follow_ups)},
    }


def _lane(questions=(), checks=()):
    return {
        "questions": [{"text": t, "why": w} for t, w in questions],
        "checks": [{"text": t, "why": w} for t, w in checks],
    }


YES_NO = (("Yes", "yes"), ("No", "no"), ("Not sure", "unsure"))

SCENARIOS: list[dict[str, Any]] = [
    {
        "match": r"outlook.*(password|credential|prompt)|(password|credential).*outlook",
        "classify": (
            "Outlook keeps prompting for the password",
            "email",
            "medium",
            ["Outlook password prompts", "recent password change"],
        ),
        "steps": [
            (
                _q(
                    "Did the prompts start after a password change or an MFA change?",
                    "A stale cached credential after a change is the most common cause.",
                    YES_NO,
                ),
                0.3,
                "Likely a stale cached credential or a modern-authentication problem.",
                _lane(
                    [
                        (
                            "Does Outlook on the web work with the same password?",
                            "Separates the account from the client.",
                        )
                    ],
                    [("Check Credential Manager for old Office entries", "Stale entries cause repeated prompts.")],
                ),
            ),
            (
                _q(
                    "Does Outlook on the web (OWA) sign in without prompting?",
                    "If OWA works, the account is fine and the problem is the desktop client.",
                    (("Works fine", "owa_ok"), ("Also prompts or fails", "owa_fails")),
                ),
                0.5,
                "The account looks healthy; the desktop client holds a bad credential.",
                _lane(
                    [
                        (
                            "Does Outlook on the web work with the same password?",
                            "Separates the account from the client.",
                        )
                    ],
                    [
                        ("Check Credential Manager for old Office entries", "Stale entries cause repeated prompts."),
                        ("Confirm the Office build is current", "Old builds mishandle modern auth."),
                    ],
                ),
            ),
            (
                _a(
                    "Open Credential Manager → Windows Credentials and remove every entry that starts with "
                    "MicrosoftOffice16_Data or mentions outlook.office365.com; then restart Outlook and sign in once.",
                    "Removing the stale tokens forces one clean modern-auth sign-in.",
                    "Outlook asks once, accepts the password and stops prompting.",
                ),
                0.75,
                "Stale Office tokens in Credential Manager after the password change.",
                _lane([], [("Confirm the Office build is current", "Old builds mishandle modern auth.")]),
            ),
            (
                _r(
                    "Clear stale Office credentials from Credential Manager and sign in once with "
                    "modern authentication.",
                    "The password change left old cached tokens that Outlook kept retrying.",
                    [
                        "Tell the user to expect one prompt after future password changes.",
                        "Check other devices (phone, tablet) for the old password.",
                    ],
                ),
                0.9,
                "Stale cached credentials after a password change.",
                _lane(),
            ),
        ],
    },
    {
        "match": r"\bvpn\b|forticlient|anyconnect|tunnel",
        "classify": (
            "VPN connection drops every few minutes",
            "networking",
            "high",
            ["VPN disconnects repeatedly", "remote user"],
        ),
        "steps": [
            (
                _q(
                    "Does the drop happen on every network, or only on the user's home Wi-Fi?",
                    "A drop on one network points at that network; everywhere points at the client or the gateway.",
                    (("Only at home", "home_only"), ("Everywhere", "everywhere"), ("Not tested yet", "untested")),
                ),
                0.3,
                "Could be the home router, the VPN client, or the gateway's idle/rekey timers.",
                _lane(
                    [("How many minutes between drops, exactly?", "A fixed interval suggests a timer.")],
                    [("Collect the VPN client log around a drop", "Shows the disconnect reason.")],
                ),
            ),
            (
                _q(
                    "Are the drops at a regular interval (for example every 5 or 10 minutes)?",
                    "A fixed interval points at a timeout or rekey setting rather than a flaky line.",
                    (("Regular interval", "regular"), ("Random", "random")),
                ),
                0.45,
                "A regular interval suggests a DPD/idle timeout or rekey mismatch.",
                _lane(
                    [("How many minutes between drops, exactly?", "A fixed interval suggests a timer.")],
                    [("Collect the VPN client log around a drop", "Shows the disconnect reason.")],
                ),
            ),
            (
                _a(
                    "Export the VPN client log covering two drops and look for the disconnect reason "
                    "(DPD timeout, rekey failure, or network change).",
                    "The client log names the reason the tunnel went down.",
                    "A repeated reason at each drop.",
                    kind="info_request",
                ),
                0.6,
                "Likely dead-peer-detection timing out on the home router's NAT.",
                _lane(
                    [],
                    [
                        (
                            "Check the home router's power-saving / NAT timeout settings",
                            "Aggressive NAT timeouts kill idle UDP.",
                        )
                    ],
                ),
            ),
            (
                _r(
                    "Switch the VPN client to TCP/443 (SSL) for this user and disable the router's "
                    "aggressive UDP timeout.",
                    "The home router dropped idle UDP sessions, so dead-peer detection failed every few minutes.",
                    [
                        "Document the router model in the client's notes.",
                        "Monitor the user's tunnel uptime for a week.",
                    ],
                ),
                0.85,
                "NAT/UDP timeout on the home router.",
                _lane(),
            ),
        ],
    },
    {
        "match": r"print|spool",
        "classify": ("Printer shows offline", "printing", "medium", ["printer offline", "jobs stuck in queue"]),
        "steps": [
            (
                _q(
                    "Is the printer offline for everyone, or only for this user?",
                    "Everyone points at the printer or the print server; one user points at their PC.",
                    (("Everyone", "everyone"), ("Only this user", "one_user"), ("Don't know", "unknown")),
                ),
                0.3,
                "Either the printer lost its network address or the user's port is stale.",
                _lane(
                    [("Can you ping the printer's IP address?", "Confirms it is on the network.")],
                    [("Print a configuration page from the printer's panel", "Shows its current IP.")],
                ),
            ),
            (
                _a(
                    "Print a configuration page from the printer's front panel and compare its IP address with the "
                    "port configured on the PC (Printer properties → Ports).",
                    "A DHCP change leaves the PC pointing at the old address.",
                    "The two addresses differ.",
                    kind="verification",
                ),
                0.55,
                "The printer's IP changed and the port points at the old one.",
                _lane([("Can you ping the printer's IP address?", "Confirms it is on the network.")], []),
            ),
            (
                _r(
                    "Update the printer port to the printer's current IP and reserve that IP in DHCP.",
                    "The printer took a new DHCP lease, so the PC's port pointed at a dead address.",
                    ["Reserve IPs for all printers at this site.", "Clear the stuck jobs from the queue."],
                ),
                0.85,
                "Port pointing at an old DHCP address.",
                _lane(),
            ),
        ],
    },
    {
        "match": r"lock(ed)? ?out|lockout",
        "classify": (
            "User account keeps locking out",
            "active_directory",
            "high",
            ["account locked out", "repeated lockouts"],
        ),
        "steps": [
            (
                _q(
                    "Has the user changed their password in the last few days?",
                    "Lockouts after a change usually come from a device still using the old password.",
                    YES_NO,
                ),
                0.35,
                "A device or mapped drive is retrying an old password.",
                _lane(
                    [("Does the user have a phone or tablet with company mail?", "Phones are the usual culprit.")],
                    [("Find the lockout source in the PDC's security log (event 4740)", "Names the calling computer.")],
                ),
            ),
            (
                _a(
                    "On the PDC emulator, filter the Security log for event 4740 for this user and note the "
                    "Caller Computer Name.",
                    "Event 4740 records which machine sent the bad passwords.",
                    "A computer or device name repeats.",
                    kind="info_request",
                ),
                0.6,
                "The caller computer in 4740 will name the source.",
                _lane(
                    [("Does the user have a phone or tablet with company mail?", "Phones are the usual culprit.")], []
                ),
            ),
            (
                _r(
                    "Remove the old password from the user's phone mail profile and unlock the account.",
                    "The phone kept retrying the old password and locked the account.",
                    ["Ask the user to update the password on every device after a change."],
                ),
                0.85,
                "A device retrying the old password.",
                _lane(),
            ),
        ],
    },
    {
        "match": r"slow|sluggish|freez|hang|100%",
        "classify": ("Computer is slow", "endpoint", "medium", ["slow performance", "long boot"]),
        "steps": [
            (
                _q(
                    "Is it slow all the time, or only at boot and sign-in?",
                    "Boot-only slowness points at start-up items or disk; constant slowness at resources.",
                    (
                        ("All the time", "always"),
                        ("Only at boot/sign-in", "boot"),
                        ("Only in one application", "one_app"),
                    ),
                ),
                0.25,
                "Disk, memory pressure or a start-up item.",
                _lane(
                    [("How much free disk space is there on C:?", "A full disk slows everything.")],
                    [("Look at Task Manager → Performance during the slowness", "Shows which resource is saturated.")],
                ),
            ),
            (
                _a(
                    "Open Task Manager → Performance while it is slow and note CPU, memory and disk usage.",
                    "Shows whether CPU, memory or disk is the bottleneck.",
                    "One resource near 100%.",
                    kind="info_request",
                ),
                0.45,
                "Waiting to see which resource is saturated.",
                _lane(
                    [("How much free disk space is there on C:?", "A full disk slows everything.")],
                    [("Look at Task Manager → Performance during the slowness", "Shows which resource is saturated.")],
                ),
            ),
            (
                _r(
                    "Disable unneeded start-up items and free disk space; schedule a disk health check.",
                    "A nearly full disk and heavy start-up items saturated the disk at boot.",
                    ["Consider an SSD upgrade if the drive is a hard disk.", "Add disk-space monitoring."],
                ),
                0.8,
                "Disk saturation at boot.",
                _lane(),
            ),
        ],
    },
]

GENERIC = {
    "classify": (None, "other", "medium", []),
    "steps": [
        (
            _q(
                "When did this start, and did anything change around then (updates, new software, moves)?",
                "A recent change is the quickest lead.",
                (),
                free=True,
                skip=True,
            ),
            0.2,
            "Not enough information yet.",
            _lane(
                [("How many users are affected?", "One user or many changes where to look.")],
                [("Check the event logs around the time it started", "Errors there often name the cause.")],
            ),
        ),
        (
            _q(
                "How many users are affected?",
                "One user points at the device or account; many at a shared service.",
                (("Just one", "one"), ("Several", "several"), ("Everyone", "everyone")),
            ),
            0.35,
            "Narrowing down the scope.",
            _lane([], [("Check the event logs around the time it started", "Errors there often name the cause.")]),
        ),
        (
            _a(
                "Check the System and Application event logs around the time the problem started and note any errors.",
                "Errors at that time usually name the failing component.",
                "One or more errors that repeat.",
                kind="info_request",
            ),
            0.5,
            "Looking for the failing component.",
            _lane(),
        ),
        (
            _r(
                "Apply the fix the logged error points to and confirm the user can work normally.",
                "The event logs pointed at the failing component.",
                ["Note the error and fix in the ticket for next time."],
            ),
            0.7,
            "Resolved from the logged error.",
            _lane(),
        ),
    ],
}


def _scenario_for(text: str) -> dict:
    lowered = text.lower()
    for scenario in SCENARIOS:
        if re.search(scenario["match"], lowered):
            return scenario
    return GENERIC


def _message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content if isinstance(block, dict))


def _intake_of(text: str) -> str:
    match = re.search(r'<data source="intake"[^>]*>\n(.*?)\n</data>', text, re.DOTALL)
    return match.group(1) if match else text


@demo.responder("session_classify")
def demo_classify(request) -> dict:
    intake = _intake_of(_message_text(request.messages[0]))
    summary, domain, urgency, symptoms = _scenario_for(intake)["classify"]
    first_line = " ".join(intake.split())[:117]
    return {
        "summary": summary or (first_line + ("…" if len(" ".join(intake.split())) > 117 else "")) or "New problem",
        "domain": domain,
        "urgency": urgency,
        "key_symptoms": symptoms,
    }


# Demo fixes by scenario: proposed at the first instruction or resolution step, with a seeded
# script template when the session offers it.
_FIX_TEMPLATES = {"outlook": "clear-office-credentials", "lockout": "unlock-ad-account"}
_LANE_ANSWER = re.compile(r"^((?:Q|C)\d+) (.+?) → (.+)$", re.MULTILINE)
_WORKED = re.compile(r"\b(that )?(fixed|worked|works now|resolved|sorted)\b", re.IGNORECASE)


def _demo_fix(scenario: dict, step: dict, first: str) -> dict:
    if step["type"] == "resolution_suggestion":
        title, description = step["resolution"]["fix"], step["resolution"]["summary"]
    else:
        title, description = step["action"]["instruction"].split(";")[0], step["action"]["why"]
    slug = next((s for key, s in _FIX_TEMPLATES.items() if key in scenario.get("match", "") and s in first), None)
    return {"title": title[:200], "description": description, "confidence": 75, "script_template": slug,
            "script_parameters": None}  # fmt: skip


@demo.responder("session_turn")
def demo_turn(request) -> dict:
    first = _message_text(request.messages[0])
    scenario = _scenario_for(_intake_of(first))
    turn_index = sum(1 for m in request.messages if m["role"] == "assistant")
    steps = scenario["steps"]
    step, confidence, reasoning, lane = steps[min(turn_index, len(steps) - 1)]
    turn = {"step": step, "confidence": confidence, "reasoning": reasoning, "lane": lane}
    proposed_before = any(m["role"] == "assistant" and '"fix":{' in _message_text(m) for m in request.messages)
    # A fix is something to apply: an instruction or script, or the resolution; never a step that
    # only gathers information or verifies.
    applies = step["type"] == "resolution_suggestion" or (
        step["type"] == "action" and step["action"]["kind"] in ("instruction", "script_generation")
    )
    if applies and not proposed_before:
        turn["fix"] = _demo_fix(scenario, step, first)
    last = _message_text(request.messages[-1]) if turn_index else ""
    # Lane answers reported since the last step become facts, resting on their lane item.
    turn["promote_facts"] = [
        {"text": f"{answer.strip().rstrip('.')}.", "summary": f"answers {ref}", "source_ref": ref}
        for ref, _question, answer in _LANE_ANSWER.findall(last)
    ] or None
    engineer = re.search(r'<data source="engineer">\n(.*?)\n</data>', last, re.DOTALL)
    if engineer and _WORKED.search(engineer.group(1)) and "did not work" not in engineer.group(1).lower():
        turn["proposed_outcome"] = {"status": "applied_success", "note": "You wrote that it worked."}
    return turn


# --- the script builder ----------------------------------------------------------------------

_SCRIPT_BODIES = (
    # (words that pick it, the script). Placeholders stand where code stands: each is put in a
    # variable first, and strings use the variable (SPEC §5: a placeholder in a string is refused).
    (
        ("unlock", "locked", "lockout"),
        "Import-Module ActiveDirectory\n"
        "$name = {{ user_name }}\n"
        "$user = Get-ADUser -Identity $name -Properties LockedOut, BadLogonCount\n"
        'Write-Host "$($user.SamAccountName): locked out $($user.LockedOut), bad logons $($user.BadLogonCount)."\n'
        'if (-not $user.LockedOut) { Write-Host "Not locked out: nothing to unlock."; return }\n'
        "Unlock-ADAccount -Identity $user\n"
        'Write-Host "Unlocked $($user.SamAccountName)."',
    ),
    (
        ("credential", "password prompt", "outlook"),
        "$entries = cmdkey /list | Select-String 'MicrosoftOffice16' | ForEach-Object { ($_ -split 'target=')[1] }\n"
        "if (-not $entries) { Write-Host 'No cached Office credentials found.'; return }\n"
        "Write-Host \"Cached Office credentials: $($entries -join ', ')\"\n"
        'foreach ($target in $entries) { cmdkey /delete:$target | Out-Null; Write-Host "Removed $target" }',
    ),
    (
        ("spooler", "printer", "print queue", "print"),
        "$computer = {{ computer_name }}\n"
        "$service = Get-Service -ComputerName $computer -Name Spooler\n"
        'Write-Host "Spooler is $($service.Status) on $computer."\n'
        "Restart-Service -InputObject $service -Force\n"
        "Get-Printer -ComputerName $computer | Select-Object Name, PrinterStatus",
    ),
    (
        ("vpn", "tunnel"),
        "$gateway = {{ vpn_gateway }}\n"
        "Get-VpnConnection | Select-Object Name, ServerAddress, ConnectionStatus\n"
        "Test-NetConnection -ComputerName $gateway -Port 443 | Select-Object RemoteAddress, TcpTestSucceeded",
    ),
)


@demo.responder("script_draft")
def demo_script_draft(request) -> dict:
    """A script built from the fix and shaped by the engineer's request; a current draft is revised,
    not replaced. The demo understands a cmdlet to use ("use Get-Printer"), a computer ("on PRN-01"),
    "only check" (what changes things is left out), "dry run" (-WhatIf), "log it" (a transcript) and
    "stop on errors"; what it cannot do is said plainly in the explanation, never silently ignored."""
    text = _message_text(request.messages[0])

    def fenced(source: str) -> str | None:
        found = re.search(rf'<data source="{source}">\n(.*?)\n</data>', text, re.DOTALL)
        return found.group(1) if found else None

    fix_text, draft = fenced("fix") or "", fenced("engineer_draft")
    wish = " ".join((fenced("engineer") or "").split())
    if wish == "A script that applies the fix.":  # what the prompt says when the engineer asked nothing
        wish = ""
    title = re.search(r'"title": "(.*?)"', fix_text)
    purpose = (title.group(1) if title else "the suggested fix").replace("{", "(").replace("}", ")")
    header = "$ErrorActionPreference = 'Stop'"
    done, not_done, rest = [], [], wish

    def take(pattern: str, flags: int = re.IGNORECASE) -> list[re.Match]:
        """The request's matches of `pattern`, removed from what is left to understand."""
        nonlocal rest
        found = list(re.finditer(pattern, rest, flags))
        rest = re.sub(pattern, " ", rest, flags=flags)
        return found

    change = re.compile(
        r"^\s*((Restart|Stop|Start|Set|Remove|Clear|Reset|Unlock|Enable|Disable|New|Add|Install|Uninstall|Rename|"
        r"Move|Suspend|Resume)-\w+|.*cmdkey\s+/delete)",
        re.IGNORECASE,
    )
    verbs = "Get|Test|Resolve|Measure|Find|Restart|Stop|Start|Set|Remove|Clear|Reset|Unlock|Enable|Disable|New|Add"
    cmdlets = [m.group(1) for m in take(rf"\b((?:{verbs}|Invoke|Update)-[A-Za-z][A-Za-z0-9]+)\b")]
    # "on PRN-01", "against 10.0.0.5", "on DC01": a name with a digit or a dot in it, or in capitals.
    host = r"(?=[\w.-]*[\d.])[A-Za-z0-9][\w.-]*[A-Za-z0-9]|[A-Z][A-Z0-9-]{2,}"
    hosts = [m.group(1) for m in take(rf"\b(?i:on|against|at|for)\s+({host})\b", flags=0)]
    only_checks = bool(
        take(
            r"\b(?:(?:only|just)\s+(?:check|read|look|report)\w*|check[- ]only|read[- ]only|no changes?|"
            r"(?:don'?t|do not|never|without)\s+(?:restart|chang|unlock|delet|remov|touch|fix|clear)\w*"
            r"(?:\s+(?:anything|it|them))?)"
        )
    )
    dry_run = bool(take(r"\b(?:dry[- ]?run|what-?if|simulat\w*)\b"))
    logged = bool(take(r"\b(?:log(?:s|ging)?(?: it)?|transcript|record (?:it|what it does))\b"))
    # Stopping at the first error it always does (the header); said in every explanation.
    take(r"\b(?:stop|fail|halt)\s+(?:on|at)\s+(?:the\s+first\s+)?(?:errors?|failures?)|fail fast\b")

    if draft is not None:
        body, base = draft.strip(), "Your draft, revised: it stops at the first error."
    else:
        pick = next((b for words, b in _SCRIPT_BODIES if any(w in wish.lower() for w in words)), None)
        pick = pick or next((b for words, b in _SCRIPT_BODIES if any(w in fix_text.lower() for w in words)), None)
        body = pick or "Write-Host 'Check the state before changing it.'"
        base = "Reads the current state first and stops at the first error."
    lines = [line for line in body.splitlines() if line.strip() != header]

    host = hosts[0] if hosts else None
    if host:
        keys = [k for k in dict.fromkeys(re.findall(r"\{\{\s*(\w+)\s*\}\}", "\n".join(lines)))
                if re.search(r"computer|server|host|machine|gateway|device", k, re.IGNORECASE)]  # fmt: skip
        if keys:
            lines = [re.sub(r"\{\{\s*" + keys[0] + r"\s*\}\}", f"'{host}'", line) for line in lines]
            done.append(f"it runs against {host} (no {keys[0]} to fill in)")
            host = None
    for cmdlet in dict.fromkeys(cmdlets):
        if any(cmdlet.lower() in line.lower() for line in lines):
            done.append(f"it uses {cmdlet}")
            continue
        target = next((m.group(1) for line in lines
                       if (m := re.match(r"\$(\w+) = (?:'[^']*'|\{\{\s*\w+\s*\}\})$", line.strip()))
                       and re.search(r"computer|server|host|gateway", m.group(1), re.IGNORECASE)), None)  # fmt: skip
        call = f"{cmdlet} -ComputerName ${target}" if target else cmdlet
        if host and not target:
            call, host = f"{cmdlet} -ComputerName '{hosts[0]}'", None
        if change.match(call):
            lines.append(call)
        else:
            first_change = next((i for i, line in enumerate(lines) if change.match(line)), len(lines))
            lines.insert(first_change, call)
        done.append(f"it calls {call} (check its parameters before you run it)")
    if host:
        not_done.append(f"pointing it at {host} (this script has no computer to aim at)")

    def named(line: str) -> str:
        return "cmdkey /delete" if "cmdkey" in line else re.split(r"[\s(]", line.strip(), maxsplit=1)[0]

    if only_checks:
        left_out = [named(line) for line in lines if change.match(line)]
        lines = [line for line in lines if not change.match(line)]
        if left_out:
            done.append(f"it only checks: what changes things is left out ({', '.join(dict.fromkeys(left_out))})")
        else:
            done.append("it only checks (it changed nothing anyway)")
    elif dry_run:
        cmdlet_changes = [i for i, line in enumerate(lines) if change.match(line) and re.match(r"\s*\w+-\w+", line)]
        others = [named(line) for line in lines if change.match(line) and not re.match(r"\s*\w+-\w+", line)]
        for i in cmdlet_changes:
            if "-WhatIf" not in lines[i]:
                lines[i] = f"{lines[i]} -WhatIf"
        if cmdlet_changes:
            done.append("the changes only say what they would do (-WhatIf)")
        if others:
            lines = [line for line in lines if not (change.match(line) and not re.match(r"\s*\w+-\w+", line))]
            done.append(f"{', '.join(dict.fromkeys(others))} has no dry run, so it is left out")
        if not cmdlet_changes and not others:
            done.append("a dry run (it changed nothing anyway)")
    if logged:
        lines = ["$log = {{ log_path }}", "Start-Transcript -Path $log", *lines, "Stop-Transcript"]
        done.append("it records a transcript at log_path")

    known = set(
        re.findall(
            r"[a-z']+",
            "a an the and or to of on in for with it its this that then first please just only use using run runs "
            "script do don't dont not no be is are from by as at into before after when if also make sure can "
            "should would i we you me my our your them they their up check checks checking one all each every "
            "out via it's what",
        )
    )
    known |= {w for words, _ in _SCRIPT_BODIES for phrase in words for w in phrase.split()}
    known |= set(re.findall(r"[a-z0-9']+", f"{fix_text} {' '.join(lines)}".lower()))
    leftover = [w for w in dict.fromkeys(re.findall(r"[a-z0-9']+", rest.lower())) if w not in known and len(w) > 2]
    if leftover:
        not_done.append(f"“{' '.join(leftover[:6])}” in your request (the demo builder does not understand it)")

    script = "\n".join([f"# {purpose}", header, *lines] if draft is None else [header, *lines])
    placeholders = list(dict.fromkeys(re.findall(r"\{\{\s*(\w+)\s*\}\}", script)))
    explanation = base
    if done:
        explanation += " As you asked: " + "; ".join(done) + "."
    if placeholders:
        explanation += " Fill in " + ", ".join(placeholders) + " when you run it."
    if not_done:
        explanation += " Not done: " + "; ".join(not_done) + ". Edit the script for that."
    return {"script": script, "explanation": explanation[:600]}
