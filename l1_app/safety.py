"""The hard floor under every L1 walk (SPEC §7 "Safety"): what an L1 tech is never asked to do,
whatever categories the account allows. No setting lifts it.

API
  floor_violation(text: str) -> str | None
      A short, plain reason ("changes the registry", "deletes data", ...) when the text asks an
      L1 tech to do something below the floor, else None. Never raises; anything that is not a
      string is checked as its str().
  node_violation(node: Mapping) -> str | None
      Checks a generated walk node before it is stored or shown: its "text", then its
      "yes_label" and "no_label" whenever they are there (a question's buttons; missing or empty
      parts pass, so check the node after filling in default labels, or before: both are safe).
      A label acting on "it" is read with what the question asks about: "Is the inbox full?" /
      "Yes, empty it" fails as deleting data.
      Returns one sentence saying which part fails, why and on which words, then what an L1 step
      may do, e.g.
        'The node's text changes the registry ("regedit"). L1 steps may only observe, ...'
      It is written to be sent back to the AI as the reason when the node is regenerated once,
      and to be logged with the escalate node that replaces a second failure (that loop is the
      walk builder's, not this module's). Something that is not a mapping fails: "The node is
      not a JSON object." (fail closed: an unreadable node is never shown).
  FLOOR_REASONS: tuple[str, ...]
      Every reason floor_violation can answer, in the order the rules are checked; for prompts
      ("never ask the tech to do anything that ...") and for tests.
  L1_SCOPE: str
      What L1 steps stay within, worded for prompts and for node_violation's sentence.

How it matches: words and phrasings on word boundaries, and verb + object within one clause
("delete ... profile folder" with at most a few words between, never across "and", "then", a
comma or a full stop), in the active or the passive ("the profile folder must be deleted"), so
naming a thing is not doing it: "check that the Windows Registry service is running" and "ask
whether the firewall icon shows green" pass, "open regedit" and "turn off Windows Defender" do
not. A few names fail wherever they appear (regedit, HKCU, sudo, diskpart, "as administrator"):
there is no L1 step that uses them. Text is NFKC-normalised first (soft hyphens, zero-width
characters and curly quotes do not hide a word). English only.

Three narrow excuses keep observe steps, the AI's own warnings and escalations from failing:
- a negated instruction: "do not edit the registry", "never run it as administrator";
- a question about what happened: "did the user change their password recently?", "ask whether
  they reset it". Only when the question word opens the clause (or is "whether" / "ask ... if")
  and is followed by a short subject: "ask whether you can delete...", "the fix is to delete..."
  and "if it fails delete..." still fail;
- a hand-off to an engineer or admin: "escalate so an engineer can reset the password", "the
  account must be unlocked by an administrator".
Anything else that matches fails: when in doubt the node is regenerated or escalated, which costs
an AI call, never the customer's data. Escalate and resolved nodes are checked like any other:
their text is shown to the tech too.
"""

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

L1_SCOPE = (
    "observe, toggle user-level settings (Wi-Fi, airplane mode, mute), restart, reconnect, "
    "or re-enter credentials the user already knows"
)

REGISTRY = "changes the registry"
SYSTEM_FILES = "touches system or boot files"
DISKS = "changes disks or partitions"
DATA = "deletes data"
SECURITY = "changes security settings (antivirus, firewall, encryption)"
ACCOUNT = "changes an account, password or MFA"
ASKS_SECRET = "asks for the user's password or sign-in code"
ADMIN = "needs admin rights"
NETWORK = "changes domain, DNS or DHCP settings"
SERVER = "changes a server or production system"
BILLING = "touches billing or licences"

FLOOR_REASONS = (
    REGISTRY,
    SYSTEM_FILES,
    DISKS,
    DATA,
    SECURITY,
    ACCOUNT,
    ASKS_SECRET,
    ADMIN,
    NETWORK,
    SERVER,
    BILLING,
)

# --- Building blocks -------------------------------------------------------------------------

# A hyphen counts as part of a word: "re-enter" is not "enter", "anti-virus" is one word.
_B = r"(?<![\w-])"
_E = r"(?![\w-])"
# One word of a clause: no clause punctuation; dots and colons only inside ("regedit.exe", "C:\").
_TOKEN = r"""(?:[a-z]:(?=\s)|(?:[^\s,;.!?:()"“”]|[.:](?=\S))+)"""
# Words that start another clause: "turn Wi-Fi off and check whether Defender..." is two steps.
_JOINER_WORDS = "and|or|then|but|if|when|while|whether|before|after|until|unless|so|because|once"
_JOINERS = f"(?:{_JOINER_WORDS})"
_CVC = re.compile(r"[^aeiou][aeiou][^aeiouwxy]$")


def _gap(words: int = 6, ends: str = _JOINERS) -> str:
    """Whitespace and at most `words` words of the same clause between a verb and its object."""
    return rf"(?:\s+(?!{ends}{_E}){_TOKEN}){{0,{words}}}?\s+"


def _inflect(verb: str) -> str:
    """Base, -s and -ing forms of a verb (its first word): instructions, not reports ("deleted")."""
    first, _, rest = verb.partition(" ")
    stem = re.escape(first).replace(r"\-", "-?")
    if first.endswith("e") and not first.endswith("ee"):
        forms = rf"{stem[:-1]}(?:e|es|ing)"
    elif re.search(r"[^aeiou]y$", first):
        forms = rf"{stem[:-1]}(?:y|ies|ying)"
    elif first.endswith(("s", "sh", "ch", "x", "z", "o")):
        forms = rf"{stem}(?:es|ing)?"
    elif _CVC.search(first):
        forms = rf"{stem}(?:s|{re.escape(first[-1])}?ing)?"
    else:
        forms = rf"{stem}(?:s|ing)?"
    return forms + "".join(rf"\s+{re.escape(word)}" for word in rest.split())


def _verbs(verbs: str) -> str:
    """ "delete|turn off|go into": each verb in its base, -s and -ing forms, on word boundaries."""
    return _B + "(?:" + "|".join(_inflect(verb) for verb in verbs.split("|")) + ")" + _E


def _any(*phrases: str) -> str:
    """Alternatives written as regexes; a space stands for any run of whitespace."""
    return "(?:" + "|".join(phrase.replace(" ", r"\s+") for phrase in phrases) + ")"


def _acts(verbs: str, objects: str, words: int = 6, ends: str = _JOINERS) -> str:
    """A verb acting on an object in the same clause: "delete the user's old profile folder"."""
    return verbs + _gap(words, ends) + objects + _E


def _turned_off(objects: str) -> str:
    """ "turn Windows Defender off", "switch the firewall off"."""
    return _verbs("turn|switch") + _gap(4) + objects + r"\s+off" + _E


def _names(*phrases: str) -> str:
    return _B + _any(*phrases) + _E


# Someone other than the L1 tech: "ask an engineer to reset it", "reset by an admin". The L1 tech is
# a technician of the service desk, so only engineers and admins count.
_SOMEONE_ELSE = (
    r"(?:an?\s+|the\s+|your\s+|our\s+)?(?:(?:senior|network|systems?|on-call|l2|l3|second[- ]line|"
    r"third[- ]line)\s+)?(?:engineers?|admins?|administrators?|sysadmins?)"
)


def _passive(objects: str, participles: str) -> str:
    """ "the profile folder must be deleted", "should the firewall be turned off?": not negated,
    not "by an engineer"; reports ("was deleted", "has been reset") are not instructions."""
    done = "(?:" + "|".join(p.replace(" ", r"\s+") for p in participles.split("|")) + ")"
    return (
        _B
        + objects
        + rf"(?:\s+(?!{_JOINERS}{_E})(?!(?:not|never|cannot|\w+n't){_E}){_TOKEN}){{0,4}}?"
        + r"\s+be(?:\s+\w+ly)?\s+"
        + done
        + _E
        + rf"(?!\s+by\s+{_SOMEONE_ELSE})"
    )


# --- The rules, checked in this order ---------------------------------------------------------

_REGISTRY_PLACE = r"(?:windows\s+)?registry(?!\s+service)"
_REGISTRY = (
    _names(
        r"regedit(?:\.exe)?",
        "regedt32",
        "registry editor",
        r"HKEY_[a-z_]+",
        "HKLM",
        "HKCU",
        "HKCR",
        "HKCC",
        "HKU",
        r"reg(?:\.exe)? (?:add|delete|import|copy|load|unload|restore|save)",
        r"registry (?:keys?|values?|entr(?:y|ies)|hives?|settings?|tweaks?|hacks?|fix(?:es)?|cleaners?|clean-?ups?)",
        "reg_dword|reg_sz|dword|qword",
        r"(?:new|set|remove)-itemproperty",
        r"[\w-]*\.reg",
        r"registry(?=\s*:)",
    ),
    _acts(
        _verbs(
            "edit|change|modify|delete|remove|add|create|set|rename|import|merge|clean|fix|tweak|"
            "update|alter|open|go into|navigate|browse|restore|hack|search"
        ),
        _REGISTRY_PLACE,
    ),
    _B + r"(?:in|into|from|under)\s+the\s+" + _REGISTRY_PLACE + _E,
    _passive(
        r"(?:registry(?:\s+(?:keys?|values?|entr(?:y|ies)|settings?))?|keys?\s+in\s+the\s+registry)",
        "edited|changed|modified|deleted|removed|added|set|imported|merged|cleaned",
    ),
)

_FIRMWARE = r"(?:bios|uefi|cmos|firmware)"
_OS = (
    r"(?:the\s+)?(?:operating\s+system|os|windows(?:\s+1[01])?|macos)"
    r"(?!\s+(?:update|password|pin|hello|account|security|defender|firewall|sign|log|settings))"
)
_SYSTEM_FILES = (
    _names(
        "system32",
        "syswow64",
        r"%(?:windir|systemroot)%",
        r"c:[\\/]+windows",
        r"bcdedit(?:\.exe)?",
        "bootrec",
        "bcdboot",
        r"msconfig(?:\.exe)?",
        r"sfc(?:\.exe)?",
        r"dism(?:\.exe)?",
        r"regsvr32(?:\.exe)?",
        "takeown",
        "icacls",
        f"{_FIRMWARE} (?:settings?|setup|menu|password|update|upgrade|configuration|config|options?|flash)",
        r"boot (?:order|sequence|menu|options?|configuration|config|records?|sectors?|loader|manager|partition"
        r"|priority|device)",
        "bootloader",
        "master boot record",
        "mbr",
        "reset this pc",
    ),
    _acts(
        _verbs(
            "enter|go into|get into|boot into|open|access|change|update|upgrade|flash|reset|configure|"
            "set|modify|edit|disable|enable|clear|navigate to"
        ),
        _FIRMWARE,
    ),
    _B + r"in\s+the\s+" + _FIRMWARE + _E,
    # Windows' Safe Mode, not Outlook's or a browser's
    _acts(
        _verbs("restart|reboot|boot|start|go|enter|get|put"),
        r"safe\s+mode",
        ends=rf"(?:{_JOINER_WORDS}|outlook|word|excel|powerpoint|office|teams|apps?|browser|chrome|edge|firefox)",
    ),
    _acts(
        _verbs(
            "delete|remove|replace|rename|edit|modify|overwrite|copy|move|register|unregister|repair|restore|change"
        ),
        _any(
            r"(?:system|boot|os|windows|driver|dll) files?",
            r"[\w-]+\.(?:dll|sys)",
            "dlls?",
            "hosts file",
            "system folders?",
        ),
    ),
    _acts(
        _verbs("run|do|perform|start|use|launch|open|boot"),
        _any(
            "system restore",
            "startup repair",
            "system file checker",
            r"recovery (?:mode|console|environment)",
            r"advanced (?:startup|boot) options?",
            "winre",
        ),
    ),
    _acts(
        _verbs("reinstall|re-install|reimage|re-image|repair|refresh|roll back|downgrade|upgrade|wipe"),
        _OS,
    ),
)

_STORAGE = _any(
    r"(?:(?:hard|usb|flash|external|system|boot|c:?|d:?)\s+)?(?:drives?|disks?)",
    "ssds?",
    "hdds?",
    "partitions?",
    "volumes?",
    r"(?:sd|memory|micro\s?sd) cards?",
    r"(?:usb|thumb|memory) sticks?",
    "sticks?",
    r"[a-z]:",
)
_DISKS = (
    _names(
        r"diskpart(?:\.exe)?",
        "disk management",
        r"diskmgmt(?:\.msc)?",
        r"chkdsk(?:\.exe)?",
        "fdisk",
        "gparted",
        r"mkfs(?:\.\w+)?",
        r"dd if=",
        r"format [a-z]:",
        "(?:re)?partitioning",
    ),
    _acts(
        _verbs(
            "format|reformat|wipe|erase|initialize|initialise|clean|partition|repartition|convert|zero|secure erase"
        ),
        _STORAGE,
    ),
    _acts(
        _verbs("delete|create|resize|shrink|extend|merge|split|remove|change|hide"),
        _any("partitions?", "volumes?"),
    ),
    _passive(_STORAGE, "formatted|reformatted|wiped|erased|partitioned|repartitioned|initialized|initialised"),
)

_DATA_THINGS = _any(
    "files?",
    "folders?",
    r"director(?:y|ies)",
    r"(?<!browsing\s)(?<!site\s)(?<!cached\s)(?<!autofill\s)(?<!form\s)data(?!\s+usage)",
    r"profiles?(?!\s+(?:picture|photo|name|icon))",
    r"documents?(?!\s+(?:in|from)\s+(?:the\s+)?print)",
    r"e-?mails?(?!\s+(?:accounts?|address(?:es)?|apps?|client|settings|signature|server))",
    r"mails?(?!\s+(?:accounts?|apps?|client|settings|server))",
    "mailbox(?:es)?",
    r"(?<!error\s)(?<!warning\s)(?<!pop-up\s)(?<!status\s)(?<!notification\s)messages?",
    "inbox",
    r"(?:sent|deleted) items",
    "contacts",
    "calendars?",
    "photos",
    "pictures",
    "videos",
    "downloads",
    r"desktop(?!\s+(?:shortcut|icon|background|wallpaper))",
    "appdata",
    r"%\w+%",
    r"[\w-]*\.(?:ost|pst|nst|docx?|xlsx?|pptx?|pdf)",
    "ost",
    "pst",
    "backups?",
    "snapshots?",
    "recycle bin",
    "trash",
    "archives?",
    "databases?",
    "everything",
)
_DATA = (
    _names(
        "factory reset",
        "factory-reset",
        "factory settings",
        r"rm -\w*[rf]\w*",
        "rmdir",
        r"rd /s",
        r"del /[a-z]",
        r"erase /[a-z]",
        "remove-item",
        "clear-recyclebin",
        "clear-content",
        "shred",
        "remote wipe",
        r"re-?imag(?:e|es|ing)",
    ),
    _acts(
        "(?:"
        + _verbs(
            "delete|remove|erase|wipe|purge|clear|destroy|shred|discard|overwrite|"
            "clean out|clear out|get rid of|throw away|blow away|nuke"
        )
        # the verbs, not "an empty folder" or "look in the Trash for"
        + r"|(?<!an\s)(?<!\bis\s)(?<!\bare\s)\b(?:empty|empties|emptying)\b"
        + r"|(?<!the\s)(?<!recycle\s)(?<!\ba\s)\b(?:trash|bin)(?:s|n?ing)?\b)",
        _DATA_THINGS,
    ),
    _acts(_verbs("move|send|drag"), r"to\s+the\s+(?:recycle\s+bin|trash|bin)"),
    _passive(
        _DATA_THINGS,
        "deleted|removed|erased|wiped|purged|cleared|emptied|destroyed|overwritten|trashed|binned|"
        "cleared out|cleaned out|thrown away|gotten rid of",
    ),
    _acts(
        _verbs("delete|erase|purge|destroy|wipe|factory reset"),
        _any(
            r"(?:user |email |e-mail |local )?accounts?",
            r"(?:device|phone|laptop|pc|computer|machine|mac|tablet|ipad|iphone|printer)s?",
        ),
    ),
)

_SECURITY_THINGS = _any(
    "firewalls?",
    r"anti-?\s?virus",
    r"anti-?\s?malware",
    r"av(?=\s+(?:software|agent|product|client|protection|scann(?:er|ing)|exclusions?))",
    r"(?:windows |microsoft )?defender",
    "windows security",
    r"(?<!privacy\s&\s)(?<!privacy\sand\s)"
    r"security (?:software|settings?|centre|center|polic(?:y|ies)|agent|baseline|app)",
    "endpoint protection",
    "edr",
    "xdr",
    "sophos",
    "crowdstrike",
    "falcon sensor",
    r"sentinel\s?one",
    "bitdefender",
    "eset",
    "norton",
    "mcafee",
    "malwarebytes",
    "webroot",
    "huntress",
    "cylance",
    "trend micro",
    "kaspersky",
    "avast",
    "bitlocker",
    "filevault",
    "encryption",
    "tpm",
    "secure boot",
    "uac",
    "user account control",
    "smartscreen",
    "real-?time protection",
    "tamper protection",
    "controlled folder access",
    "ransomware protection",
    "conditional access",
    "gatekeeper",
    "system integrity protection",
    "applocker",
    r"(?:web|dns|content) filter(?:ing)?",
    r"proxy(?: settings?| server)?",
    "zscaler",
    r"mdm(?: profiles?)?",
    "intune",
    r"device management profiles?",
    r"vpn (?:profiles?|config(?:uration)?|settings)",
)
_SECURITY = (
    _names(
        "set-executionpolicy",
        r"-executionpolicy (?:bypass|unrestricted)",
        "set-mppreference",
        "add-mppreference",
        r"netsh (?:adv)?firewall",
        "manage-bde",
        r"port\s?forward(?:ing)?",
        r"decrypt(?:s|ing)?",
    ),
    _acts(
        _verbs(
            "disable|turn off|switch off|deactivate|stop|pause|suspend|uninstall|remove|bypass|"
            "circumvent|override|kill|exclude|whitelist|allowlist|unblock|change|modify|configure|"
            "reconfigure|adjust|edit|reset|enable|turn on|switch on|decrypt|unlock|add|allow|encrypt|"
            "re-enroll|re-enrol|unenroll|unenrol|lower|weaken|toggle|set up|tamper with|quit|exit"
        ),
        _SECURITY_THINGS,
    ),
    _turned_off(_SECURITY_THINGS),
    _passive(
        _SECURITY_THINGS,
        "disabled|turned off|switched off|deactivated|uninstalled|removed|paused|suspended|bypassed|"
        "stopped|changed|reconfigured|excluded|whitelisted|decrypted|unlocked",
    ),
    _B + r"(?:exclusions?|exceptions?|allow\s+rules?)" + _gap(5) + _SECURITY_THINGS + _E,
    _acts(_verbs("encrypt|decrypt"), _STORAGE),
    # a bare "AV" is also Teams' audio-video: only with the verbs that can only mean antivirus
    _acts(_verbs("disable|turn off|switch off|kill|uninstall|bypass|pause|exclude|whitelist"), "av"),
    _B + r"holes?\s+in\s+the\s+firewall" + _E,
    _acts(
        _verbs("find|get|grab|look up|retrieve|read out|give|provide|send|share|fetch|locate|enter|type|use"),
        r"(?:bitlocker\s+)?recovery\s+(?:keys?|passwords?)",
    ),
    _verbs("open|forward") + r"(?:\s+up)?(?:\s+(?:a|the|another))?(?:\s+(?:tcp|udp))?\s+ports?" + _E,
)

_SECRETS = _any(
    "passwords?",
    "passcodes?",
    "passphrases?",
    "pins?",
    "credentials?",
    "mfa",
    "2fa",
    r"two-?\s?factor(?: auth\w*)?",
    r"multi-?\s?factor(?: auth\w*)?",
    "authenticator(?: app)?",
    r"security (?:keys?|questions?|info(?:rmation)?)",
    r"sign-?\s?in methods?",
    "authentication methods?",
    r"one-?\s?time (?:passcodes?|passwords?|codes?)",
    "otp",
    "recovery codes?",
    "windows hello",
    "app passwords?",
    r"passkeys?",
)
_ACCOUNTS = r"(?:user(?:'s)?\s+|their\s+|ad\s+|m365\s+|microsoft\s+365\s+|entra\s+|domain\s+)?accounts?"
_ACCOUNT = (
    _acts(
        _verbs(
            "reset|change|set|set up|update|modify|generate|assign|create|issue|remove|delete|clear|"
            "disable|enable|turn off|turn on|re-register|register|re-enroll|re-enrol|enroll|enrol|"
            "revoke|bypass|expire|replace|rotate|recover|edit|add|wipe"
        ),
        _SECRETS,
        # "set up Outlook with the user's password" uses the password, it does not change it
        ends=rf"(?:{_JOINER_WORDS}|with|using|via)",
    ),
    _turned_off(_SECRETS),
    _passive(
        _SECRETS,
        "reset|changed|set|set up|updated|removed|deleted|cleared|disabled|turned off|re-registered|"
        "registered|re-enrolled|revoked|bypassed|replaced|generated|issued",
    ),
    _acts(
        _verbs(
            "unlock|disable|enable|reset|re-enable|reactivate|deactivate|suspend|block|unblock|create|"
            "rename|convert|merge"
        ),
        _ACCOUNTS,
    ),
    _passive(_ACCOUNTS, "unlocked|disabled|enabled|re-enabled|reactivated|reset|unblocked|blocked|suspended"),
    _acts(
        _verbs("do|perform|run|issue|force|trigger|initiate|send|complete|process|start"),
        r"(?:password|passcode|pin|mfa|2fa|credential)s?\s+(?:reset|change|re-?registration)",
        words=3,
    ),
    _acts(
        _verbs("block|unblock|allow|disable|enable|revoke"),
        r"sign-?\s?ins?(?!\s+(?:page|screen|prompt|request|window|box))",
    ),
    _names(r"net user", r"set-(?:aduser|adaccountpassword|msoluserpassword|mguser)", "unlock-adaccount"),
)

_SPOKEN_SECRETS = _any(
    "passwords?",
    "passcodes?",
    "pins?",
    r"(?:mfa|2fa|verification|one-time|sign-in|security|[\w-]+-digit) codes?",
    "otp",
)
_ASKS_SECRET = (
    _names(
        r"what(?:'s| is) (?:your|their|his|her|the user'?s) (?:current )?(?:password|passcode|pin)",
        r"what (?:your|their|his|her|the user'?s) (?:current )?(?:password|passcode|pin) is",
    ),
    _acts(
        _verbs("tell|give|send|share|read out|spell out|say|write down|email|e-mail|text|dictate|read"),
        r"(?:(?:their|the\s+user'?s|your|his|her|its)\s+)?(?:current\s+|actual\s+|real\s+|new\s+|old\s+)?"
        + _SPOKEN_SECRETS,
        words=4,
    ),
    _acts(
        _verbs("ask"),
        r"for\s+(?:(?:their|the\s+user'?s|the|his|her|your)\s+)?(?:current\s+)?" + _SPOKEN_SECRETS,
        words=3,
    ),
)

_ADMIN_RIGHTS = r"(?:rights|privileges?|permissions?|access|credentials?|accounts?|passwords?|logins?|role)"
_ADMIN = (
    _names(
        r"as (?:an? |the )?(?:local |domain |global )?(?:admin|administrator|root|superuser)",
        r"elevat(?:e|es|ed|ing|ion)",
        "sudo",
        r"runas(?:\.exe)?",
        r"su (?:-\w*|root)",
        r"admin(?:istrator|istrative)? (?:powershell|command prompt|cmd|terminal|prompt|shell|console|mode)",
        r"net localgroup",
        r"net (?:stop|start)",
        r"(?:stop|start|restart|set)-service",
        r"privileged (?:account|access)",
        r"gpedit(?:\.msc)?",
        r"secpol(?:\.msc)?",
        r"local (?:group )?policy editor",
        r"(?:m365 |microsoft 365 |office 365 |exchange |entra |azure |intune |google workspace |google )?"
        r"admin (?:center|centre|console|portal)",
        r"(?:with|using) (?:full |local |domain )?admin(?:istrator|istrative)? " + _ADMIN_RIGHTS,
    ),
    _acts(
        _verbs("give|grant|add|assign|promote|elevate|put|make"),
        _any(
            r"(?:local|domain|global|full) admin(?:istrator)?s?",
            r"admin(?:istrator|istrative)?s? " + _ADMIN_RIGHTS,
            r"admin(?:istrator)?s? group",
            "administrators",
            r"an? admin(?:istrator)?",
            r"admin(?:istrator)?(?=\s*(?:[.,;:!?)]|$))",
        ),
    ),
    _acts(
        _verbs("enter|type|use|provide|supply|input|sign in with|log in with|get|request"),
        r"(?:(?:local|domain|global)\s+)?admin(?:istrator|istrative)?\s+" + _ADMIN_RIGHTS,
    ),
    _acts(
        _verbs("stop|start|restart|disable|enable|kill|end|pause|resume"),
        _any(r"services?(?!\s+desk)", "spooler", "services.msc"),
    ),
    _acts(
        _verbs("install|uninstall|reinstall|update|roll back|delete|remove|disable|replace"),
        _any("drivers?", "in device manager", "from device manager"),
    ),
)

_NETWORK_THINGS = _any(
    r"dns(?: (?:servers?|records?|settings?|cache|entr(?:y|ies)|zones?|suffix(?:es)?|config(?:uration)?|resolvers?))?",
    r"dhcp(?: (?:leases?|scopes?|reservations?|servers?|settings?|options?|pools?))?",
    r"(?:ip|ipv4|ipv6) (?:address(?:es)?|settings?|config(?:uration)?)",
    "static ip",
    r"(?:default )?gateway",
    "subnet(?: mask)?",
    r"domain(?: (?:controllers?|join|trust|polic(?:y|ies)|settings?|membership|records?|name))?",
    "active directory",
    r"ad (?:accounts?|users?|groups?|objects?|attributes?)",
    "aduc",
    r"(?:organi[sz]ational unit|ou)s?",
    r"group polic(?:y|ies)",
    "gpos?",
    r"(?:security|distribution|ad|m365|entra|mail-enabled) groups?",
    r"entra(?: id)?",
    "azure ad",
)
_NETWORK = (
    _names(
        r"ipconfig(?:\.exe)? /(?:release|renew|flushdns|registerdns)\w*",
        "clear-dnsclientcache",
        "register-dnsclient",
        "set-dnsclientserveraddress",
        "add-computer",
        "remove-computer",
        "reset-computermachinepassword",
        r"netsh (?:int(?:erface)? ip|int(?:erface)? ipv4|winsock|dhcp|dns)",
        r"dsa\.msc",
        r"gpmc(?:\.msc)?",
        "dnsmgmt",
        "dhcpmgmt",
    ),
    _acts(
        _verbs(
            "change|modify|edit|set|configure|reconfigure|update|add|remove|delete|create|flush|clear|"
            "purge|renew|release|register|re-register|reset|join|rejoin|unjoin|move|reserve|"
            "assign|point|disable|enable|override|hard-code|hardcode"
        ),
        _NETWORK_THINGS,
    ),
    _passive(
        _NETWORK_THINGS,
        "changed|modified|set|configured|reconfigured|updated|flushed|cleared|renewed|released|reset|"
        "joined|rejoined|removed|moved|deleted|added",
    ),
)

_SERVER_THINGS = _any(
    "servers?",
    r"domain controllers?",
    r"dcs?(?!\s+(?:power|adapter|jack|cable|input|plug|motor))",
    "production",
    r"prod (?:servers?|environment|database|systems?|sites?)",
    r"live (?:systems?|environment|sites?|databases?)",
    "hypervisors?",
    r"hyper-v(?: hosts?)?",
    r"esxi(?: hosts?)?",
    "vcenter",
    "vms?",
    r"virtual machines?",
    "nas",
    r"sql (?:server|databases?)",
    r"exchange (?:server|online|admin|settings)",
    "terminal server",
    r"rds (?:servers?|hosts?)",
    r"(?:office|company|core|site|corporate) (?:switch(?:es)?|routers?|firewalls?)",
    r"(?:switch|router|access point|firewall)(?:'s)? (?:settings|config(?:uration)?|firmware|admin (?:page|panel))",
    r"tenant(?: settings)?",
    "mail flow",
    r"transport rules?",
)
_SERVER = (
    _acts(
        _verbs(
            "change|modify|edit|configure|reconfigure|update|upgrade|patch|restart|reboot|shut down|"
            "shutdown|power off|power down|power cycle|turn off|stop|start|install|uninstall|deploy|"
            "roll back|delete|remove|log into|log in to|log on to|log onto|sign into|sign in to|rdp|"
            "remote into|remote in to|push|migrate|fail over|reset|restore|kill|unplug"
        ),
        _SERVER_THINGS,
    ),
    _passive(
        _SERVER_THINGS,
        "restarted|rebooted|changed|modified|reconfigured|updated|upgraded|patched|shut down|stopped|"
        "turned off|powered off|power cycled",
    ),
)

_BILLING_THINGS = _any(
    r"licen[cs]es?",
    r"licen[cs]ing",
    r"(?<!calendar\s)subscriptions?",
    r"billing(?: \w+)?",
    "invoices?",
    r"payments?(?: (?:method|details))?",
    "credit cards?",
    "card details",
    r"(?:subscription|licen[cs]e|billing|m365|microsoft 365|office 365|business|premium|enterprise"
    r"|the user'?s|their|his|her) plans?",
    r"(?:m365|microsoft 365|office 365) [aef][1-5]",
    r"(?:(?:m365|microsoft 365|office 365) )?business (?:basic|standard|premium)",
    "seats?",
    r"(?:product|activation|licen[cs]e) keys?",
)
_BILLING = (
    _acts(
        _verbs(
            "assign|unassign|reassign|remove|add|buy|purchase|order|upgrade|downgrade|renew|cancel|"
            "change|transfer|update|enter|pay|refund|charge|apply|release|allocate|deallocate|swap|"
            "switch|move|activate|deactivate|revoke|extend|top up|increase|decrease|reduce|give|type|"
            "edit"
        ),
        _BILLING_THINGS,
    ),
    _passive(
        _BILLING_THINGS,
        "assigned|unassigned|reassigned|upgraded|downgraded|changed|removed|added|purchased|bought|"
        "renewed|cancelled|canceled|transferred",
    ),
)

_RULES: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = tuple(
    (reason, tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns))
    for reason, patterns in (
        (REGISTRY, _REGISTRY),
        (SYSTEM_FILES, _SYSTEM_FILES),
        (DISKS, _DISKS),
        (DATA, _DATA),
        (SECURITY, _SECURITY),
        (ACCOUNT, _ACCOUNT),
        (ASKS_SECRET, _ASKS_SECRET),
        (ADMIN, _ADMIN),
        (NETWORK, _NETWORK),
        (SERVER, _SERVER),
        (BILLING, _BILLING),
    )
)

# --- The excuses ------------------------------------------------------------------------------

_CLAUSE_BREAK = re.compile(r"[;!?\n,()\u2014\u2013]|[.:](?=\s|$)|\s-\s")
_NEGATED = re.compile(
    r"(?:\b(?:do|does|must|should|need|will|may|shall)\s+not|\b(?:don|doesn|mustn|shouldn|won|needn|can)'?t"
    r"|\bcannot|\bnever|\bavoid|\bwithout)"
    r"(?:\s+(?:ever|try(?:ing)?\s+to|attempt(?:ing)?\s+to))?"
    rf"(?:\s+(?:open|use|run|launch|start|enter|touch|access|edit|change|modify)(?:ing)?(?:\s+(?!{_JOINERS}\b)\S+){{0,2}})?\s*$",
    re.IGNORECASE,
)
# A question about what happened: the auxiliary opens the clause ("Did the user change..."), or
# "whether" / "ask ... if" leads it; then a short subject with no modal, "to" or "how" in it.
_NOT_A_SUBJECT = (
    r"(?:can|could|would|will|should|shall|must|may|might|to|please|then|how|what|where|why|need|needs|"
    r"want|wants|able|allowed|supposed|going|time|safe|ok|okay|fine|necessary|required|best|better|now|"
    rf"first|next|also|just|simply|go|try|let|{_JOINER_WORDS})"
)
_ASKED = re.compile(
    r"(?:^\s*(?:(?:did|does|has|had|is|are|was|were)(?:n'?t)?|have\s+(?:you|they|we|he|she|i)|do\s+(?:you|they|we|i))"
    r"|\bwhether|\bask(?:s|ed|ing)?(?:\s+\S+){0,3}?\s+if)"
    rf"(?:\s+(?!{_NOT_A_SUBJECT}\b)[^\s]+){{0,4}}\s+$",
    re.IGNORECASE,
)


# Handing it to someone else: "escalate so an engineer can reset the password".
_DELEGATED = re.compile(
    rf"\b{_SOMEONE_ELSE}\s+(?:must|should|can|could|will|would|may|might|needs?\s+to|has\s+to|have\s+to|to)\s*$",
    re.IGNORECASE,
)


def _excused(text: str, start: int) -> bool:
    prefix = text[max(0, start - 200) : start]
    breaks = list(_CLAUSE_BREAK.finditer(prefix))
    clause = prefix[breaks[-1].end() :] if breaks else prefix
    return bool(_NEGATED.search(clause) or _ASKED.search(clause) or _DELEGATED.search(clause))


# Invisible characters and typographic variants an AI (or a pasted ticket) may put inside words.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_TYPOGRAPHIC = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2011": "-"})


def _normalise(text: Any) -> str:
    if text is None:
        return ""
    text = text if isinstance(text, str) else str(text)
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_TYPOGRAPHIC)


def _find(text: Any) -> tuple[str, str] | None:
    """(reason, the words that matched) of the first rule the text breaks."""
    normalised = _normalise(text)
    if not normalised.strip():
        return None
    for reason, patterns in _RULES:
        for pattern in patterns:
            for match in pattern.finditer(normalised):
                if not _excused(normalised, match.start()):
                    return reason, " ".join(match.group(0).split())
    return None


# --- The API ----------------------------------------------------------------------------------


def floor_violation(text: str) -> str | None:
    found = _find(text)
    return found[0] if found else None


_LABELS = (("yes_label", "The yes label"), ("no_label", "The no label"))
# A label acting on "it" acts on what the question asks about: "Is the inbox full?" / "Yes, empty it".
_PRONOUN = re.compile(r"\b(?:it|them|this|that|these|those)\b", re.IGNORECASE)
_PARTICLE_AFTER_PRONOUN = re.compile(
    r"\b(turn|switch|shut|power|wipe|clear|clean)\s+(it|them|this|that)\s+(off|on|down|out)\b", re.IGNORECASE
)
_QUESTION_OPENER = re.compile(
    r"^\s*(?:is|are|was|were|does|do|did|has|have|can|could|should|would|will)\s+(?:there\s+)?", re.IGNORECASE
)


def _label_in_context(label: str, question: str) -> str | None:
    """The label with its pronoun replaced by what the question asks about, or None."""
    if not _PRONOUN.search(label) or not question.strip():
        return None
    subject = _QUESTION_OPENER.sub("", question.strip().rstrip("?").strip())
    label = _PARTICLE_AFTER_PRONOUN.sub(r"\1 \3 \2", label)
    return _PRONOUN.sub(lambda _: subject, label, count=1)


def _violation_message(part: str, reason: str, words: str) -> str:
    return f'{part} {reason} ("{words[:80]}"). L1 steps may only {L1_SCOPE}.'


def node_violation(node: Mapping[str, Any]) -> str | None:
    if not isinstance(node, Mapping):
        return "The node is not a JSON object."
    text = _normalise(node.get("text"))
    found = _find(text)
    if found:
        return _violation_message("The node's text", *found)
    for field, part in _LABELS:
        label = _normalise(node.get(field))
        found = _find(label)
        if found:
            return _violation_message(part, *found)
        in_context = _label_in_context(label, text)
        found = _find(in_context) if in_context else None
        if found:
            return _violation_message(part, found[0], " ".join(label.split()))
    return None
