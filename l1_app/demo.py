"""Demo-mode answers for L1 walks (SPEC §7, §10): the offline AI that classifies a problem into
the account's categories and builds a safe walk one node at a time. Registered with the AI door's
demo provider; imported by `L1AppConfig.ready`.

How a node is chosen (stateless: everything is read back from the request):
- Each default category has its own tree, any other key (a custom category, "unknown") the generic
  one. A tree is a table of nodes keyed by id; a question goes on by "yes" / "no", an instruction
  by "done"; every branch ends in resolved or escalate within nine steps.
- The walked path is matched against the tree from its first node, by each step's text and the
  choice taken. Where the path leaves the tree (the real AI built the earlier steps, or the tree
  changed), the generic steps not yet walked follow, then an escalate node "exhausted safe steps".
- Node number MAX_DEPTH is always an escalate node. No step on the path is given twice.
- After a refusal by the safety floor (the conversation ends with `refused_message`), the refused
  node is never given again: a generic step not yet walked comes instead, or an escalate node.

Every node here is a step an L1 tech may take (observe, toggle, restart, reconnect, re-enter what
the user knows); l1_app/tests/test_demo.py walks every branch through the hard floor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from resolutionflow.ai import demo

from .categories import DEFAULT_CATEGORIES, classify_by_keywords
from .prompts import MAX_DEPTH, refused_message, walk_from_message

EXHAUSTED = "exhausted safe steps"
# The opening words of the corrective request after a refused node ("That node was refused").
_REFUSED = refused_message("").split(":", 1)[0]


@dataclass(frozen=True)
class Node:
    type: str
    text: str
    then: Mapping[str, str] = field(default_factory=dict)  # choice (yes / no / done) -> node id
    yes_label: str = "Yes"
    no_label: str = "No"
    reason: str = ""

    def as_json(self) -> dict[str, str]:
        """The node as NODE_SCHEMA shapes it: labels on questions only, a reason on escalations only."""
        node = {"type": self.type, "text": self.text}
        if self.type == "question":
            node.update(yes_label=self.yes_label, no_label=self.no_label)
        if self.type == "escalate":
            node["reason"] = self.reason
        return node


def ask(text: str, yes: str, no: str, *, labels: tuple[str, str] = ("Yes", "No")) -> Node:
    """A question; an either/or one names its two alternatives in `labels` (the yes one first)."""
    return Node("question", text, {"yes": yes, "no": no}, *labels)


def do(text: str, then: str) -> Node:
    return Node("instruction", text, {"done": then})


def fixed(text: str) -> Node:
    return Node("resolved", text)


def escalate(reason: str, text: str = "") -> Node:
    return Node(
        "escalate", text or f"{reason[0].upper()}{reason[1:]}. Escalate the ticket to an engineer.", reason=reason
    )


OUT_OF_STEPS = escalate(
    EXHAUSTED, "The safe L1 steps are used up and the problem is still there. Escalate the ticket to an engineer."
)


@dataclass(frozen=True)
class Tree:
    """Nodes keyed by id; the first one opens the walk. Every tree can end in OUT_OF_STEPS ("out")."""

    nodes: Mapping[str, Node]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", {**self.nodes, "out": OUT_OF_STEPS})

    @property
    def start(self) -> Node:
        return next(iter(self.nodes.values()))


# --- the trees ---------------------------------------------------------------------------------

PASSWORD = Tree(
    {
        "caps": ask(
            "Is Caps Lock on? Look for the light on the keyboard or the arrow in the sign-in box.", "caps_off", "layout"
        ),
        "caps_off": do("Press Caps Lock once so its light goes out, then have the user sign in again.", "caps_ok"),
        "caps_ok": ask("Did the user sign in with Caps Lock off?", "caps_fixed", "layout"),
        "caps_fixed": fixed("Caps Lock was on: with it off the user signed in with the password they know."),
        "layout": ask(
            "Does the keyboard language at the bottom right of the sign-in screen match the user's keyboard?",
            "slow",
            "layout_fix",
        ),
        "layout_fix": do("Click the keyboard language at the bottom right and pick the user's usual layout.", "slow"),
        "slow": do(
            "Have the user type their password again slowly, checking number and symbol keys, then press Enter.",
            "slow_ok",
        ),
        "slow_ok": ask("Did the user sign in this time?", "slow_fixed", "message"),
        "slow_fixed": fixed("Typing the password slowly with the right keyboard layout worked: the user signed in."),
        "message": ask(
            "Read the message under the sign-in box: does it say the password is incorrect, or that it has expired?",
            "elsewhere",
            "expired",
            labels=("Incorrect", "Expired"),
        ),
        "expired": escalate("the password has expired: an engineer must help the user choose a new one"),
        "elsewhere": ask(
            "Can the user sign in with the same password somewhere else, such as Outlook on the web or their phone?",
            "this_pc",
            "forgotten",
        ),
        "forgotten": escalate(
            "the user does not know their current password: an engineer must verify them and reset it"
        ),
        "this_pc": escalate(
            "the password works elsewhere but not on this computer: an engineer must check its sign-in"
        ),
    }
)

LOCKOUT = Tree(
    {
        "locked": ask("Does the sign-in screen say the account is locked?", "devices", "typed"),
        "typed": do("Have the user type their current password again slowly, with Caps Lock off.", "typed_ok"),
        "typed_ok": ask("Did the user sign in?", "typed_fixed", "out"),
        "typed_fixed": fixed("The account was not locked: typing the password carefully let the user sign in."),
        "devices": ask(
            "Does the user have a phone, tablet or second computer that may still use an old password "
            "(a mail app, a saved Wi-Fi network)?",
            "quiet",
            "wait",
        ),
        "quiet": do(
            "On that device, turn on airplane mode (or close its mail app) so it stops trying the old password.",
            "wait",
        ),
        "wait": do("Wait 30 minutes with nobody trying to sign in, so the lockout can run out.", "retry"),
        "retry": ask("After the wait, can the user sign in with their current password?", "lock_fixed", "still"),
        "lock_fixed": fixed("Waiting out the lockout, with no device trying an old password, let the user sign in."),
        "still": ask("Does the sign-in screen still say the account is locked?", "unlock", "refused"),
        "unlock": escalate("the account is still locked after the lockout period: an engineer must unlock it"),
        "refused": escalate("the current password is not accepted: an engineer must verify the user and reset it"),
    }
)

PRINTER = Tree(
    {
        "scope": ask(
            "Is it one printer that fails, or every printer the user tries?",
            "display",
            "pc_restart",
            labels=("One printer", "Every printer"),
        ),
        "pc_restart": do("Save open work and restart the computer.", "pc_test"),
        "pc_test": ask("Print a page from Notepad after the restart: did it print?", "pc_fixed", "pc_broken"),
        "pc_fixed": fixed("Restarting the computer fixed printing: the page printed."),
        "pc_broken": escalate("no printer works from this computer after a restart: an engineer must check it"),
        "display": ask("Does the printer's own display show an error or a warning light?", "error_kind", "power"),
        "error_kind": ask(
            "Is it a paper or toner message, or a hardware error (a service code, 'call for service')?",
            "supplies",
            "hardware",
            labels=("Paper or toner", "Hardware error"),
        ),
        "hardware": escalate("the printer shows a hardware error: an engineer must book a repair"),
        "supplies": do(
            "Load paper, take out any jammed sheet the display points to, and fit new toner if it says it is empty.",
            "power",
        ),
        "power": do("Turn the printer off, wait 30 seconds and turn it back on; wait until it says Ready.", "link"),
        "link": ask(
            "Is the printer connected to the computer by a USB cable, or over the network or Wi-Fi?",
            "usb",
            "network",
            labels=("USB cable", "Network or Wi-Fi"),
        ),
        "usb": do("Unplug the printer's USB cable from the computer and plug it firmly into another port.", "default"),
        "network": do(
            "Check the printer's display shows it is on the network; if not, reconnect its network cable or "
            "rejoin the office Wi-Fi from its menu.",
            "default",
        ),
        "default": do(
            "On the computer, open Settings, Printers & scanners, pick this printer as the default and cancel "
            "the user's own jobs stuck in its queue.",
            "test",
        ),
        "test": ask("Print a test page: did it print?", "fixed", "out"),
        "fixed": fixed(
            "Power-cycling and reconnecting the printer and picking it as the default fixed it: the test page printed."
        ),
    }
)

OUTLOOK = Tree(
    {
        "status": ask(
            "Look at the bar at the bottom of Outlook: does it say Connected, or Working Offline or Disconnected?",
            "prompt",
            "offline",
            labels=("Connected", "Offline or Disconnected"),
        ),
        "offline": do("On the Send / Receive tab, click Work Offline once so it is no longer highlighted.", "online"),
        "online": ask("Does the bar at the bottom now say Connected?", "online_fixed", "restart"),
        "online_fixed": fixed("Outlook was working offline: turning Work Offline off reconnected it."),
        "prompt": ask("Does Outlook keep showing a sign-in window?", "reenter", "restart"),
        "reenter": do(
            "Have the user type their usual password into Outlook's sign-in window and tick Remember my credentials.",
            "restart",
        ),
        "restart": do(
            "Close Outlook completely (check it has gone from the taskbar), wait 10 seconds and open it again.",
            "flowing",
        ),
        "flowing": ask(
            "Do new emails arrive now, and does the Outbox empty when the user sends?", "restart_fixed", "web"
        ),
        "restart_fixed": fixed("Restarting Outlook (and signing it in again) fixed sending and receiving."),
        "web": ask(
            "Sign in to Outlook on the web with the user's usual password: do emails arrive there?", "pc", "mailbox"
        ),
        "mailbox": escalate("email does not arrive on the web either: an engineer must check the mailbox"),
        "pc": do("Save open work, restart the computer and open Outlook again.", "pc_ok"),
        "pc_ok": ask("Is Outlook sending and receiving after the restart?", "pc_fixed", "outlook_only"),
        "pc_fixed": fixed("Restarting the computer fixed Outlook: it sends and receives again."),
        "outlook_only": escalate(
            "email works on the web but not in Outlook on this computer: an engineer must check Outlook's set-up"
        ),
    }
)

WIFI = Tree(
    {
        "others": ask(
            "Do other devices in the same place (a phone, a colleague's laptop) get internet on the same Wi-Fi?",
            "airplane",
            "where",
        ),
        "where": ask(
            "Is the user at home on their own router, or in the office?",
            "router",
            "office",
            labels=("At home", "In the office"),
        ),
        "office": escalate("no device in the office gets internet: an engineer must check the office network"),
        "router": do(
            "Unplug the home router's power, wait 30 seconds, plug it back in and wait about 3 minutes for its "
            "lights to settle.",
            "router_ok",
        ),
        "router_ok": ask("Do the devices get internet again?", "router_fixed", "provider"),
        "router_fixed": fixed("Restarting the home router brought the internet back."),
        "provider": escalate(
            "the home internet is down even after a router restart: the user's internet provider may have an outage"
        ),
        "airplane": ask("Is airplane mode on, or Wi-Fi turned off, on the user's laptop?", "radio_on", "toggle"),
        "radio_on": do("Turn airplane mode off and Wi-Fi on from the network icon in the taskbar.", "radio_ok"),
        "radio_ok": ask("Does the laptop get internet now?", "radio_fixed", "rejoin"),
        "radio_fixed": fixed("Airplane mode or Wi-Fi was off: turning Wi-Fi back on fixed it."),
        "toggle": do("Turn Wi-Fi off, wait 10 seconds, turn it back on and join the usual network.", "toggle_ok"),
        "toggle_ok": ask("Is the laptop connected with internet now?", "toggle_fixed", "rejoin"),
        "toggle_fixed": fixed("Turning Wi-Fi off and on again reconnected the laptop."),
        "rejoin": do(
            "In Wi-Fi settings, forget the network and join it again with the Wi-Fi password the user already knows.",
            "rejoin_ok",
        ),
        "rejoin_ok": ask("Does the laptop connect and load a web page now?", "rejoin_fixed", "restart"),
        "rejoin_fixed": fixed("Forgetting and rejoining the Wi-Fi network fixed it."),
        "restart": do("Restart the laptop and join the Wi-Fi again.", "restart_ok"),
        "restart_ok": ask("Is there internet after the restart?", "restart_fixed", "out"),
        "restart_fixed": fixed("Restarting the laptop fixed the Wi-Fi connection."),
    }
)

VPN = Tree(
    {
        "internet": ask(
            "With the VPN disconnected, do ordinary websites load (a news site, for example)?", "reconnect", "offline"
        ),
        "offline": escalate(
            "the internet does not work even without the VPN: walk Wi-Fi basics first, or an engineer must check "
            "the connection"
        ),
        "reconnect": do("In the VPN client, disconnect, wait 10 seconds and connect again.", "connected"),
        "connected": ask(
            "Does the VPN connect and do the office apps or shared drives open now?", "reconnect_fixed", "signin"
        ),
        "reconnect_fixed": fixed("Disconnecting and reconnecting the VPN fixed it."),
        "signin": ask(
            "Does the VPN client say the sign-in failed or the user name or password is wrong?", "resign", "client"
        ),
        "resign": do(
            "Sign out of the VPN client and have the user sign in again with their usual work password.", "resign_ok"
        ),
        "resign_ok": ask("Does the VPN connect after signing in again?", "resign_fixed", "access"),
        "resign_fixed": fixed("Signing in to the VPN client again with the user's current password fixed it."),
        "access": escalate("the VPN refuses the user's sign-in: an engineer must check their VPN access"),
        "client": do(
            "Quit the VPN client completely (also from the system tray), open it again and connect.", "client_ok"
        ),
        "client_ok": ask("Does the VPN connect after restarting the client?", "client_fixed", "laptop"),
        "client_fixed": fixed("Restarting the VPN client fixed the connection."),
        "laptop": do("Save open work, restart the laptop, then connect the VPN again.", "laptop_ok"),
        "laptop_ok": ask("Does the VPN connect after the laptop restart?", "laptop_fixed", "out"),
        "laptop_fixed": fixed("Restarting the laptop let the VPN connect again."),
    }
)

MEETINGS = Tree(
    {
        "kind": ask(
            "Is the problem with sound (hearing or being heard) or with the camera?",
            "muted",
            "shutter",
            labels=("Sound", "Camera"),
        ),
        "muted": ask(
            "Is the user muted in the meeting, or is a mute switch on their headset turned on?", "unmute", "devices"
        ),
        "unmute": do("Unmute in the meeting controls and turn the headset's mute switch off.", "unmuted_ok"),
        "unmuted_ok": ask("Does the sound work both ways now?", "unmute_fixed", "devices"),
        "unmute_fixed": fixed("The user was muted: unmuting fixed the sound."),
        "devices": do(
            "In the app's settings (Devices in Teams, Audio in Zoom), pick the headset or the right microphone and "
            "speaker, then make a test call.",
            "devices_ok",
        ),
        "devices_ok": ask("Does the test call play and record sound?", "devices_fixed", "replug"),
        "devices_fixed": fixed("Picking the right microphone and speaker in the app fixed the sound."),
        "replug": do(
            "Unplug the headset (or turn its Bluetooth off and on) and reconnect it, then quit the meeting app "
            "completely, open it again and rejoin.",
            "replug_ok",
        ),
        "replug_ok": ask(
            "Does the sound work after reconnecting the headset and restarting the app?", "replug_fixed", "out"
        ),
        "replug_fixed": fixed("Reconnecting the headset and restarting the meeting app fixed the sound."),
        "shutter": ask(
            "Does the laptop or webcam have a privacy shutter or camera key that is closed or switched off?",
            "open",
            "camera_pick",
        ),
        "open": do(
            "Slide the shutter open or press the camera key, then turn the camera on in the meeting.", "open_ok"
        ),
        "open_ok": ask("Does the camera show a picture now?", "open_fixed", "camera_pick"),
        "open_fixed": fixed("The camera's privacy shutter or key was closed: opening it fixed the picture."),
        "camera_pick": do(
            "In the app's settings pick the right camera, and close any other app that may be using it.", "pick_ok"
        ),
        "pick_ok": ask("Does the camera preview in the app's settings show a picture?", "pick_fixed", "permission"),
        "pick_fixed": fixed("Picking the right camera (and closing the other app using it) fixed the picture."),
        "permission": ask(
            "In the computer's Settings, Privacy, Camera, is camera access on for the meeting app?", "restart", "allow"
        ),
        "allow": do("Turn camera access on for the meeting app there, then restart the app and rejoin.", "allow_ok"),
        "allow_ok": ask("Is the camera working now that the app may use it?", "allow_fixed", "out"),
        "allow_fixed": fixed("The meeting app was not allowed to use the camera: allowing it fixed the picture."),
        "restart": do(
            "Save open work, restart the computer, then open the meeting app and test the camera.", "restart_ok"
        ),
        "restart_ok": ask("Does the camera show a picture after the restart?", "restart_fixed", "camera_faulty"),
        "restart_fixed": fixed("Restarting the computer brought the camera back."),
        "camera_faulty": escalate("the camera shows no picture in any app after a restart: an engineer must check it"),
    }
)

BROWSER = Tree(
    {
        "reload": do("Reload the page with Ctrl+F5 (Cmd+Shift+R on a Mac).", "reload_ok"),
        "reload_ok": ask("Does the page load properly now?", "reload_fixed", "private"),
        "reload_fixed": fixed("A full reload of the page fixed it."),
        "private": do("Open the same page in a private window (InPrivate or Incognito).", "private_ok"),
        "private_ok": ask("Does the page work in the private window?", "cache", "other_browser"),
        "cache": do(
            "Clear the browsing data for cached images and cookies from the browser's settings, then close and "
            "reopen the browser.",
            "cache_ok",
        ),
        "cache_ok": ask("Does the page load properly in a normal window now?", "cache_fixed", "out"),
        "cache_fixed": fixed("Clearing the browser's cached images and cookies fixed the page."),
        "other_browser": ask(
            "Does the page work in another browser (Edge, Chrome or Firefox)?", "browser_restart", "other_sites"
        ),
        "browser_restart": do(
            "Close every window of the first browser, wait a few seconds, open it again and try the page.",
            "browser_ok",
        ),
        "browser_ok": ask(
            "Does the page work in the first browser after restarting it?", "browser_fixed", "one_browser"
        ),
        "browser_fixed": fixed("Restarting the browser fixed the page."),
        "one_browser": escalate("the page works in another browser but not in this one: an engineer must check it"),
        "other_sites": ask("Do other websites load in the browser?", "site_down", "no_web"),
        "site_down": escalate("only this website fails, in every browser: an engineer must check the site"),
        "no_web": escalate("no website loads: walk Wi-Fi basics first, or an engineer must check the connection"),
    }
)

PERIPHERAL = Tree(
    {
        "kind": ask(
            "Is the device wired (a cable) or wireless (Bluetooth or a small USB receiver)?",
            "replug",
            "batteries",
            labels=("Wired", "Wireless"),
        ),
        "replug": do(
            "Unplug the device's cable and plug it firmly into a different port on the computer itself.", "replug_ok"
        ),
        "replug_ok": ask("Does the device work now?", "replug_fixed", "dock"),
        "replug_fixed": fixed("Reconnecting the cable in another port fixed the device."),
        "dock": ask(
            "Is the device plugged into a dock or a monitor rather than the computer?", "dock_replug", "restart"
        ),
        "dock_replug": do(
            "Unplug the dock's cable from the laptop and the dock's power, wait 10 seconds and plug both back in.",
            "dock_ok",
        ),
        "dock_ok": ask("Does the device work after reconnecting the dock?", "dock_fixed", "restart"),
        "dock_fixed": fixed("Reconnecting the dock fixed the device."),
        "batteries": do("Replace or recharge the device's batteries and check its power switch is on.", "batteries_ok"),
        "batteries_ok": ask("Does the wireless device respond now?", "batteries_fixed", "pairing"),
        "batteries_fixed": fixed("Fresh batteries (or a charge) brought the device back."),
        "pairing": ask(
            "Does the device connect by Bluetooth, or with a small USB receiver?",
            "bluetooth",
            "receiver",
            labels=("Bluetooth", "USB receiver"),
        ),
        "bluetooth": do(
            "In Bluetooth settings, turn Bluetooth off and on, then connect the device again (pair it again if it "
            "stays disconnected).",
            "restart",
        ),
        "receiver": do("Unplug the USB receiver and plug it into a different port on the computer itself.", "restart"),
        "restart": do("Save open work and restart the computer with the device connected.", "restart_ok"),
        "restart_ok": ask("Does the device work after the restart?", "restart_fixed", "elsewhere"),
        "restart_fixed": fixed("Restarting the computer with the device connected fixed it."),
        "elsewhere": ask("Does the device work on another computer?", "this_pc", "faulty"),
        "this_pc": escalate("the device works on another computer but not on this one: an engineer must check it"),
        "faulty": escalate("the device does not work on any computer: an engineer must arrange a replacement"),
    }
)

UPDATES = Tree(
    {
        "pending": ask(
            "Does the power menu offer Update and restart, or Settings show an update waiting for a restart?",
            "update",
            "restart",
        ),
        "update": do(
            "Save open work, plug in the charger and choose Update and restart; leave it until the sign-in screen "
            "appears.",
            "update_ok",
        ),
        "update_ok": ask("Is the computer working normally after the update?", "update_fixed", "check"),
        "update_fixed": fixed("Installing the waiting update with a restart fixed it."),
        "restart": do(
            "Save open work and restart the computer from Start, Power, Restart (not Shut down).", "restart_ok"
        ),
        "restart_ok": ask("Is the computer working normally after the restart?", "restart_fixed", "check"),
        "restart_fixed": fixed("A proper restart fixed it."),
        "check": do("Open Settings, Windows Update (Software Update on a Mac) and click Check for updates.", "found"),
        "found": ask("Did it find updates to install?", "install", "out"),
        "install": do(
            "Keep the computer on the charger, let the updates install and restart when asked.", "install_ok"
        ),
        "install_ok": ask("Is the computer working normally once the updates have installed?", "install_fixed", "out"),
        "install_fixed": fixed("Installing the outstanding updates fixed it."),
    }
)

GENERIC = Tree(
    {
        "error": ask("Is there an error message on the screen?", "note", "app"),
        "note": do("Read the error message with the user and copy its exact words into this step's note.", "app"),
        "app": do("Close the app that shows the problem and open it again.", "app_ok"),
        "app_ok": ask("Does the problem still happen after reopening the app?", "computer", "app_fixed"),
        "app_fixed": fixed("Closing and reopening the app fixed it."),
        "computer": do("Save open work and restart the computer, then sign in as usual.", "computer_ok"),
        "computer_ok": ask("Does the problem still happen after the restart?", "connections", "computer_fixed"),
        "computer_fixed": fixed("Restarting the computer fixed it."),
        "connections": do(
            "Check that the cables, the Wi-Fi and any devices involved are connected, and reconnect anything loose.",
            "connections_ok",
        ),
        "connections_ok": ask("Does the problem still happen now?", "out", "connections_fixed"),
        "connections_fixed": fixed("Reconnecting a loose cable, device or network fixed it."),
    }
)

TREES: dict[str, Tree] = {
    "password_reset": PASSWORD,
    "account_lockout": LOCKOUT,
    "printer": PRINTER,
    "outlook_client": OUTLOOK,
    "wifi_basics": WIFI,
    "vpn_connect": VPN,
    "teams_zoom_av": MEETINGS,
    "browser_cache": BROWSER,
    "peripheral_reconnect": PERIPHERAL,
    "os_restart_update": UPDATES,
}

# The generic steps offered, in this order, once a path has left its tree; each is followed by the
# generic tree's own question about it.
FALLBACK_STEPS = ("app", "computer", "connections")


# --- reading the request back --------------------------------------------------------------------


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content or "")


def _same(text: Any) -> str:
    """How texts are compared: case and spacing aside."""
    return " ".join(str(text or "").split()).casefold()


def _refused(messages: list[Mapping[str, Any]]) -> set[str]:
    """The texts of the nodes the safety floor refused in this request's conversation."""
    refused = set()
    for answer, reply in zip(messages[1:], messages[2:], strict=False):
        if answer.get("role") == "assistant" and _text(reply).startswith(_REFUSED):
            try:
                node = json.loads(_text(answer))
            except ValueError:
                node = {"text": _text(answer)}
            refused.add(_same(node.get("text") if isinstance(node, dict) else node))
    return refused


def _choice(step: Mapping[str, Any], node: Node) -> str:
    """The branch a step took: its choice, else the label the tech saw."""
    choice = _same(step.get("choice"))
    if choice not in node.then and node.type == "question":
        by_label = {_same(node.yes_label): "yes", _same(node.no_label): "no"}
        choice = by_label.get(_same(step.get("answer")), choice)
    return choice


def _follow(tree: Tree, path: list[Mapping[str, Any]]) -> Node | None:
    """The tree's node after `path`, or None where the path leaves the tree."""
    node = tree.start
    for step in path:
        branch = node.then.get(_choice(step, node))
        if _same(step.get("text")) != _same(node.text) or branch is None:
            return None
        node = tree.nodes[branch]
    return node


def _fallback(path: list[Mapping[str, Any]], avoid: AbstractSet[str]) -> Node:
    """The generic steps for a path that left its tree: the answer to the last generic step leads on,
    else the first generic step not yet walked; when none is left, escalate."""
    if path:
        last = path[-1]
        node = next((n for n in GENERIC.nodes.values() if _same(n.text) == _same(last.get("text"))), None)
        branch = node.then.get(_choice(last, node)) if node else None
        if branch and _same(GENERIC.nodes[branch].text) not in avoid:
            return GENERIC.nodes[branch]
    for step_id in FALLBACK_STEPS:
        if _same(GENERIC.nodes[step_id].text) not in avoid:
            return GENERIC.nodes[step_id]
    return OUT_OF_STEPS


def next_node(walk: Mapping[str, Any], refused: AbstractSet[str] = frozenset()) -> Node:
    """The node to give next for a walk payload (as `node_message` sends it)."""
    steps = walk.get("path")
    path = [step for step in steps if isinstance(step, Mapping)] if isinstance(steps, list) else []
    depth = walk.get("depth") if isinstance(walk.get("depth"), int) else 0
    depth = max(depth, len(path) + 1)
    limit = walk.get("max_depth") if isinstance(walk.get("max_depth"), int) else MAX_DEPTH
    limit = min(max(limit, 1), MAX_DEPTH)
    if depth >= limit:
        return escalate(
            f"reached the {limit}-step limit",
            f"This walk has reached its {limit}-step limit. Escalate the ticket to an engineer.",
        )
    category = walk.get("category")
    key = category.get("key") if isinstance(category, Mapping) else None
    tree = TREES.get(key, GENERIC) if isinstance(key, str) else GENERIC
    walked = {_same(step.get("text")) for step in path}
    avoid = walked | refused
    node = _follow(tree, path)
    if node is None or _same(node.text) in avoid:
        node = _fallback(path, avoid)
    if _same(node.text) in refused:
        node = escalate(
            "a suggested step was refused as beyond L1 authority: an engineer must take over",
            "No other safe step is left for this problem. Escalate the ticket to an engineer.",
        )
    return node


# --- the responders -----------------------------------------------------------------------------

_DEFAULTS_BY_KEY = {category.key: category for category in DEFAULT_CATEGORIES}


def _with_default_keywords(category: Mapping[str, Any]) -> Mapping[str, Any]:
    """A default category sent as {"key", "label"} classifies with its own keywords as well."""
    key = category.get("key")
    default = _DEFAULTS_BY_KEY.get(key) if isinstance(key, str) else None
    if default is None or category.get("keywords"):
        return category
    return {**category, "keywords": list(default.keywords)}


@demo.responder("l1_classify")
def demo_classify(request) -> dict[str, str]:
    data = walk_from_message(request.messages[0].get("content")) if request.messages else {}
    categories = [_with_default_keywords(c) for c in data.get("categories") or () if isinstance(c, Mapping)]
    return {"category": classify_by_keywords(str(data.get("problem") or ""), categories)}


@demo.responder("l1_tree_node")
def demo_tree_node(request) -> dict[str, str]:
    walk = walk_from_message(request.messages[0].get("content")) if request.messages else {}
    return next_node(walk, _refused(request.messages)).as_json()
