"""The hard floor (SPEC §7 "Safety"): no generated node may ask an L1 tech to do something below it,
whatever the wording; observe, toggle, restart and reconnect steps that name the same things pass.

Pure functions: no database, so no django_db mark.
"""

import time

import pytest

from l1_app.safety import (
    ACCOUNT,
    ADMIN,
    ASKS_SECRET,
    BILLING,
    DATA,
    DISKS,
    FLOOR_REASONS,
    L1_SCOPE,
    NETWORK,
    REGISTRY,
    SECURITY,
    SERVER,
    SYSTEM_FILES,
    floor_violation,
    node_violation,
)

# Each phrasing asks an L1 tech to do something below the floor, in varied verbs, word order,
# capitalisation and punctuation; the table says which reason it must fail with.
UNSAFE_BY_REASON = {
    REGISTRY: [
        "Open regedit.",
        "Use regedit to set the value back to 0.",
        "Delete the HKCU key for Outlook.",
        "Navigate to HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies and remove the entry.",
        "Edit the registry so Outlook stops prompting.",
        "In the Registry Editor, find the Office key",
        "Have the user run: reg add HKCU\\Software\\Foo /v Bar /d 1",
        "CHANGE THE REGISTRY VALUE FOR THE PRINTER PORT",
        "Don't forget to delete the HKCU key afterwards.",
        "Don’t just look — tweak the Windows registry!",
        "re\xadgedit will show the key; open it",
        "Open the Windows registry.",
        "The registry key needs to be changed.",
        "Registry: set EnableLUA to 0.",
        "Import the .reg file the vendor sent.",
        "Double-click the .reg file to merge it.",
    ],
    SYSTEM_FILES: [
        "Go into the BIOS and change the boot order.",
        "Press F2 to enter the UEFI setup",
        "Update the BIOS from the vendor's site.",
        "Replace the DLL in C:\\Windows\\System32",
        "Run sfc /scannow and wait for it to finish.",
        "Restart the laptop in Safe Mode",
        "Edit the hosts file so the site resolves.",
        "Reinstall Windows from the recovery drive",
        "Open msconfig and untick the startup items",
        "Hit F12 and pick the USB in the boot menu.",
        "Enter the BIOS password.",
        "Clear the CMOS.",
        "Take ownership of the System32 folder.",
        "Run bootrec /fixmbr.",
    ],
    DISKS: [
        "Format the USB drive.",
        "Wipe the hard drive before handing the laptop back.",
        "The USB drive must be formatted first.",
        "Open Disk Management and delete the recovery partition.",
        "Run diskpart, then select disk 1.",
        "Run chkdsk /f on C:",
        "Erase the SD card in the camera.",
        "Wipe the disk clean.",
        "Format the SD card.",
        "Use diskpart to clean the disk.",
        "Delete the partition.",
    ],
    DATA: [
        "Wipe the profile folder.",
        "Blow away the user profile.",
        "The profile folder must be deleted.",
        "Should the profile folder be deleted?",
        "Files can be safely deleted from Downloads.",
        "Delete the user's OST file and reopen Outlook.",
        "Remove all emails from the Inbox to free space",
        "Empty the Recycle Bin.",
        "delete everything in %appdata%\\Microsoft\\Teams",
        "Delete the Outlook profile and create a new one.",
        "Factory reset the phone.",
        "rm -rf ~/Library/Caches/com.microsoft.teams",
        "Clear the Downloads folder.",
        "Start deleting the old documents in the shared folder",
        "Erase all data on the phone.",
        "Delete the user's local files.",
        "Move the files to the Recycle Bin and empty it.",
        "Trash the old mailbox.",
        "Remove the OST.",
        "Delete the .ost file.",
        "Clear out the Documents folder.",
        "Delete all the user's emails.",
        "Wipe the profile.",
        "Factory-reset the laptop.",
        "Restore factory settings on the printer.",
        "Run: sudo rm -rf /Library/Caches",
        "Bin the old PST files.",
        "Empty the Deleted Items folder.",
    ],
    SECURITY: [
        "Turn off Windows Defender.",
        "The firewall should be turned off for now.",
        "Turn Windows Defender off for a minute.",
        "Disable BitLocker.",
        "Suspend BitLocker protection before the update.",
        "Allow the app through the firewall",
        "Add an exclusion for the folder in Sophos.",
        "Uninstall the antivirus and try again.",
        "Kill the AV for a sec.",
        "Punch a hole in the firewall for the app.",
        "Grab the recovery key from Entra.",
        "Look up the BitLocker recovery key in the portal.",
        "Open port 3389 on the laptop.",
        "disabling the firewall usually fixes it",
        "Turn the antivirus off.",
        "Switch off the firewall.",
        "Disable the firewall.",
        "Stop Windows Defender from scanning the folder.",
        "Exclude the folder from Defender.",
        "Bypass SmartScreen by clicking More info then Run anyway.",
        "Disable Secure Boot.",
        "Turn off tamper protection.",
        "Disable Windows Security notifications.",
        "Uninstall Sophos.",
        "Kill the CrowdStrike sensor.",
    ],
    ACCOUNT: [
        "Reset the user's MFA.",
        "The user's password needs to be reset.",
        "The account must be unlocked.",
        "Reset the user's password to something temporary.",
        "Change the password on the account.",
        "Set a new PIN for Windows Hello.",
        "Re-register the Authenticator app for the user.",
        "Unlock the user's account in Active Directory.",
        "Remove the user's old phone from MFA",
        "Do a password reset for the user.",
        "Clear the saved credentials in Credential Manager.",
        "Change the user's password.",
        "Reset their password.",
        "Reset the password for the user.",
        "Issue a temporary password.",
        "Set the user's password to Welcome1.",
        "Reset MFA.",
        "Re-register MFA for the user.",
        "Remove the authenticator method from the account.",
        "Delete the user's security info.",
        "Update the user's phone number for MFA.",
        "Create an app password.",
        "Set up a new PIN.",
        "Reset Windows Hello.",
        "Enable the disabled account.",
        "Unblock sign-in for the user.",
    ],
    ASKS_SECRET: [
        "Ask the user to tell you their password.",
        "Ask the user for the MFA code they just received",
        "Ask for the user's password.",
        "Ask the user what their password is.",
        "Get the user to read you the six-digit code.",
    ],
    ADMIN: [
        "Run this as administrator.",
        "Right-click Command Prompt and choose “Run as administrator”.",
        "Open PowerShell as admin and run the fix.",
        "sudo killall -HUP mDNSResponder",
        "Give the user local admin.",
        "Give yourself admin.",
        "Add the user to the local Administrators group",
        "Enter the admin password when Windows asks.",
        "Open an elevated prompt.",
        "Restart the Print Spooler service.",
        "Uninstall the headset in Device Manager.",
        "Update the printer driver.",
        "In the Microsoft 365 admin center, open the user",
        "Run PowerShell as Administrator.",
        "Right click > Run as admin.",
        "Run with elevated privileges.",
        "Sign in with the local administrator account.",
        "Use the admin credentials from the password manager.",
        "Add the user to Administrators.",
        "Make them a local admin.",
        "Restart the Windows Audio service.",
        "Restart the DHCP client service.",
        "Reinstall the printer driver.",
        "Uninstall the Wi-Fi adapter in Device Manager.",
        "Run net stop spooler.",
        "Restart-Service Spooler",
        "Make the user a local admin.",
    ],
    NETWORK: [
        "Flush the DNS cache on the domain controller.",
        "The DNS cache needs to be flushed.",
        "Renew the DHCP lease on the server.",
        "Run ipconfig /flushdns.",
        "Change the DNS server to 8.8.8.8.",
        "Set a static IP on the laptop",
        "Rejoin the laptop to the domain.",
        "Remove the computer from the domain and add it back.",
        "Edit the Group Policy for the printers",
        "Add the user to the Finance security group.",
        "Release the DHCP lease.",
        "Flush DNS.",
        "Flush the DNS cache.",
        "Change the IP address of the printer.",
        "Set the laptop's gateway to 192.168.1.1.",
        "Remove the laptop from the domain.",
        "Update the GPO.",
        "Create a new user in Active Directory.",
        "Add the user to the All Staff distribution group.",
        "Change the user's OU.",
    ],
    SERVER: [
        "Restart the file server.",
        "The server has to be restarted.",
        "Reboot the Exchange server tonight.",
        "RDP into the server and check the share",
        "Log in to the domain controller.",
        "Deploy the fix to production.",
        "Change the Wi-Fi channel in the office router's settings.",
        "Reboot the print server.",
        "Restart the Exchange server.",
        "Log into the server.",
        "Remote into the server.",
        "Patch the server.",
        "Restart the DC.",
        "Power cycle the NAS.",
        "Push the change to production.",
        "Change the tenant settings.",
        "Edit the transport rule.",
    ],
    BILLING: [
        "Upgrade the M365 licence.",
        "The licence needs to be reassigned.",
        "Assign the user an Office license.",
        "Remove the licence from the old account",
        "Update the credit card on the billing page.",
        "Cancel the Adobe subscription.",
        "Buy two more seats for the team.",
        "Add a licence to the user.",
        "Renew the subscription.",
        "Upgrade to Business Premium.",
        "Cancel the user's licence.",
        "Update the payment method.",
        "Buy a new licence for Visio.",
        "Give the user a Visio licence.",
        "Upgrade the user's plan.",
    ],
}
# Observe, toggle, restart, reconnect and re-enter steps, most of them naming the same things
# (registry, firewall, BitLocker, password, MFA, DNS, server, licence, USB drive, profile...).
SAFE = [
    "The profile folder must not be deleted.",
    "The password needs to be reset by an engineer: escalate.",
    "Escalate so an engineer can reset the user's password.",
    "Escalate: the account must be unlocked by an administrator.",
    "Ask an engineer to check the firewall rules.",
    "Check whether the password has been changed.",
    "Make sure the data is backed up.",
    "Cookies can be cleared from the browser settings.",
    "Remove the email account from the Outlook app on the phone and add it again with the user's password.",
    "Clear the Teams status message.",
    "Reset the AV settings in Teams and pick the headset.",
    "Grant the app access to the microphone.",
    "Set up Outlook on the new phone with the user's current password.",
    "Check that the Windows Registry service is running.",
    "Ask whether the firewall icon shows green.",
    "Check that Windows Defender is on and shows no alerts.",
    "Is BitLocker asking for a recovery key on the screen?",
    "Do not edit the registry; just restart the PC.",
    "Never run anything as administrator: restart the laptop instead.",
    "Did the user change their password recently?",
    "Ask whether the user reset their password on another device today.",
    "Ask the user to re-enter their password carefully, with Caps Lock off.",
    "Approve the MFA prompt on the user's phone.",
    "Check that the Authenticator app shows the sign-in request.",
    "Sign out and sign back in with the password the user already uses.",
    "Clear the browser cache and cookies, then reload the page.",
    "Clear browsing data for the last hour in Edge.",
    "Delete the stuck print job from the print queue.",
    "Remove the Bluetooth headset from the device list and pair it again.",
    "Remove the paper jam from tray 2.",
    "Unplug the USB drive and plug it back in.",
    "Check whether the USB drive appears in File Explorer.",
    "Safely eject the USB drive.",
    "Turn Wi-Fi off and on again.",
    "Turn Wi-Fi off and check whether Windows Defender shows a green tick.",
    "Turn on airplane mode, wait ten seconds, then turn it off.",
    "Mute and unmute the microphone in Teams.",
    "Restart the router and wait for the lights to settle.",
    "Restart Outlook so it reconnects to the mail server.",
    "Reconnect the mapped drive to the file server.",
    "Ask whether colleagues can reach the file server too.",
    "Disconnect the VPN and connect it again.",
    "Check whether the laptop shows the manufacturer logo when it starts.",
    "Does the screen show the BIOS logo?",
    "Ask whether other websites load, to rule out DNS.",
    "Check the DNS server listed by ipconfig /all.",
    "Is the PC on the company domain?",
    "Ask whether Outlook shows an 'Unlicensed product' banner.",
    "Install the pending Windows updates from Settings and restart.",
    "Check that the printer driver shows the printer as ready.",
    "Does the user have admin rights on this laptop?",
    "Restart the laptop from the Start menu.",
    "Allow Teams to use the camera in Privacy & security settings.",
    "Open Windows Security and check that the firewall is on.",
    "Is the disk full? Check free space in Settings > Storage.",
    "Ask the user to restart the laptop using Start > Power > Restart, not just closing the lid.",
    "Is the printer showing any lights or error messages on its panel?",
    "Open the print queue and check whether the document is stuck there.",
    "Cancel the stuck document in the print queue and print again.",
    "Check that the printer and the laptop are on the same Wi-Fi network.",
    "Turn the printer off, wait 30 seconds, and turn it back on.",
    "Does a test page print from the printer's own menu?",
    "Ask the user to choose the right printer in the print dialog.",
    "Check the paper tray and remove any crumpled paper.",
    "Replace the toner cartridge if the printer says it is empty.",
    "Does Outlook show 'Disconnected' or 'Trying to connect' in the status bar?",
    "Close Outlook completely, wait a moment, and open it again.",
    "If Outlook asks for a password, have the user type their current password.",
    "Check whether mail arrives in Outlook on the web.",
    "Ask whether the Outbox has messages waiting to send.",
    "Click Send/Receive All Folders and watch for errors.",
    "Check that Work Offline is not turned on in the Send/Receive tab.",
    "Does the user see the lock-out message 'Your account has been locked'?",
    "Ask the user to wait 30 minutes before trying again.",
    "Ask whether the user has a phone or tablet that still uses the old password.",
    "Have the user sign out of email on their phone until they can sign in again.",
    "Check that Caps Lock and Num Lock are off.",
    "Ask the user to type the password slowly in the password box.",
    "Is the keyboard layout set to the one the user expects (ENG/US)?",
    "Click the Wi-Fi icon: is Wi-Fi turned on?",
    "Turn airplane mode on, wait ten seconds, then off again.",
    "Forget the network and reconnect with the Wi-Fi password the user knows.",
    "Are other devices in the room online?",
    "Restart the home router by unplugging it for 30 seconds.",
    "Move the laptop closer to the router and check the bars.",
    "Does the VPN client show an error message? Read it to me.",
    "Disconnect the VPN and connect again.",
    "Quit the VPN client from the system tray and start it again.",
    "Check that the internet works without the VPN first.",
    "Sign in to the VPN again with the user's usual password.",
    "In Teams, click the three dots > Settings > Devices and check which microphone is selected.",
    "Is the mute button on the headset switched on?",
    "Unplug the headset, wait, and plug it back in.",
    "Leave the meeting and rejoin it.",
    "Check the camera privacy shutter on the laptop is open.",
    "In Settings > Privacy & security > Microphone, check that microphone access is on.",
    "Restart Zoom and join the test meeting at zoom.us/test.",
    "Is the camera light on during the call?",
    "Try the call with the laptop's built-in speakers.",
    "Open a private (InPrivate) window and load the site.",
    "Clear the browser's cached images and files and cookies, then restart the browser.",
    "Press Ctrl+F5 to reload the page.",
    "Try the website in another browser.",
    "Unplug the mouse's USB receiver and plug it into another port.",
    "Turn the Bluetooth keyboard off and on, then pair it again.",
    "Check the monitor cable at both ends.",
    "Unplug the dock's power for 10 seconds and plug it back in.",
    "Does the laptop see the second monitor in Display settings?",
    "Restart the laptop and let it finish installing updates.",
    "Check Settings > Windows Update for updates that are waiting for a restart.",
    "Ask whether the laptop has been restarted in the last week.",
    "Leave the laptop plugged in and on until the update finishes.",
    "Escalate: the printer still shows offline after a restart.",
    "Escalate to an engineer: the user's password has expired and needs resetting by an admin.",
    "Escalate: safe steps are exhausted.",
    "The issue is resolved: the user can print again.",
    "Resolved: Outlook connected after the restart.",
    "Is the firewall icon in the system tray green?",
    "Does Windows Security say 'No actions needed'?",
    "Is BitLocker showing a blue screen asking for a recovery key? If so, escalate.",
    "Check whether the laptop is connected to the office network or home Wi-Fi.",
    "Ask whether the shared drive letter shows in File Explorer.",
    "Reconnect the shared drive by signing out and in again.",
    "Ask whether anyone else in the office has the same problem.",
    "Check the date and time are correct on the laptop.",
    "Read me the exact error message on the screen.",
    "Ask the user to take a photo of the error and attach it to the ticket.",
    "Does the error mention a licence or subscription?",
    "Ask whether the user sees 'Product Activation Failed' in Word.",
    "Have the user sign out of Office and sign in again with their work account.",
    "Check the battery is charged above 20%.",
    "Is the laptop plugged into power?",
    "Make sure the printer is not paused in the print queue.",
    "Set the Teams status to available and check notifications.",
    "Switch the audio output to the headset in the sound menu.",
    "Change the default printer to the office printer.",
    "Look in the Recycle Bin for the missing files.",
    "Check the Trash for the deleted email.",
    "Create an empty folder on the desktop for the scans.",
    "Remove the desktop shortcut and add it again from the Start menu.",
    "Make sure the admin knows about the outage.",
    "Add a note for the administrator in the ticket.",
    "Start the VPN connection to the office network.",
    "Unplug the laptop from the office network and plug it back in.",
    "Does the Outbox look empty?",
    "Change of plans: restart the laptop instead.",
    "Check the cable for bent pins.",
    "Switch the power plan to Balanced.",
    "Remove the laptop from the dock and plug the dock back in.",
    "Remove the headset from the Bluetooth list and pair it again.",
    "Clear the print queue and print the page again.",
    "Reset the router by turning it off for 30 seconds.",
    "Reset the zoom level in the browser with Ctrl+0.",
    "Change the default browser back to Edge in Settings.",
    "Change the audio output to the laptop speakers.",
    "Update the Zoom app from its Check for updates menu.",
    "Update Windows from Settings > Windows Update.",
    "Set the display to Duplicate with Windows+P.",
    "Set the printer tray to A4.",
    "Disable the Outlook add-in that shows an error, from File > Options > Add-ins.",
    "Enable the camera in the Teams app settings.",
    "Turn off Bluetooth and turn it back on.",
    "Turn off the VPN and check whether websites load.",
    "Add the printer again from Settings > Printers & scanners.",
    "Add the shared calendar back in Outlook.",
    "Delete the browser's cookies for this site only.",
    "Delete the failed print job.",
    "Ask whether the user's files are saved in OneDrive.",
    "Check that the user's profile picture shows in Teams.",
    "Does the data usage screen show the Wi-Fi is used?",
    "Ask the user whether the account name at the top right is their work account.",
    "Check whether the laptop is joined to the office Wi-Fi or the guest network.",
    "Ask whether the user is signed in to the right domain account on the sign-in screen.",
    "Ask the user which server name the VPN client shows.",
    "Check whether the admin centre status page reports an outage, by asking the engineer on duty.",
    "Restart the laptop, then sign in with the user's usual password.",
    "Escalate so an engineer can check the server.",
    "Escalate: an admin needs to unlock the account.",
    "The user can sign in again: resolved.",
    "Resolved after the user re-entered their password.",
    "Check that the Windows Defender icon has no red cross.",
    "Does the screen say BitLocker recovery?",
    "Ask whether the firewall pop-up appeared when the app started.",
    "Turn Do Not Disturb off.",
    "Toggle the mute switch on the headset.",
    "Switch the monitor input to HDMI.",
    "Power the printer off and on.",
    "Put the laptop to sleep and wake it up.",
    "Sign out of Teams and sign back in.",
    "Start Outlook in safe mode (hold Ctrl while opening it).",
    "Check whether the sign-in page loads in another browser.",
    "Check the licence banner text and read it to me.",
    "Ask whether the Office app says 'Unlicensed Product'.",
    "Ask whether the subscription has expired message appears.",
    "Reconnect the network cable.",
    "Unplug the network cable and plug it back in.",
    "Forget the network in Wi-Fi settings and reconnect.",
    "Check that the user's password is typed in the right keyboard layout.",
    "Check the Caps Lock light.",
    "Ask whether the user recently got a new phone for the Authenticator app.",
    "Open the Authenticator app and check for a pending request.",
    "Enter the code from the Authenticator app on the sign-in screen.",
]
UNSAFE = [(text, reason) for reason, texts in UNSAFE_BY_REASON.items() for text in texts]


@pytest.mark.parametrize(("text", "reason"), UNSAFE)
def test_an_unsafe_step_fails_with_its_reason(text, reason):
    assert floor_violation(text) == reason


@pytest.mark.parametrize("text", SAFE)
def test_an_observe_toggle_restart_or_reconnect_step_passes(text):
    assert floor_violation(text) is None


def test_the_reasons_are_short_and_plain():
    # They reach the AI (regenerate with the reason) and the walk's audit trail: wording is API.
    assert FLOOR_REASONS == (
        "changes the registry",
        "touches system or boot files",
        "changes disks or partitions",
        "deletes data",
        "changes security settings (antivirus, firewall, encryption)",
        "changes an account, password or MFA",
        "asks for the user's password or sign-in code",
        "needs admin rights",
        "changes domain, DNS or DHCP settings",
        "changes a server or production system",
        "touches billing or licences",
    )


def test_the_tables_are_large_enough_and_cover_every_reason():
    assert len(UNSAFE) >= 40 and len(SAFE) >= 15
    assert list(UNSAFE_BY_REASON) == list(FLOOR_REASONS)
    assert all(len(texts) >= 3 for texts in UNSAFE_BY_REASON.values())
    assert len({text for text, _ in UNSAFE}) == len(UNSAFE) and len(set(SAFE)) == len(SAFE)


@pytest.mark.parametrize(
    "text",
    [
        # a question word only excuses a question about what happened, never an instruction
        "The fix is to delete the profile folder.",
        "Ask whether you can delete the profile folder.",
        "If it fails delete the profile folder.",
        "If not, run it as administrator.",
        "Have the user reset their password.",
        "Did the restart help? Delete the profile folder.",
        # a negation only excuses what it negates
        "Don't restart the laptop, delete the profile folder.",
        "Do not wait: open regedit.",
        "Don't open it but delete the profile folder.",
        "Did it work and then delete the profile folder?",
        "An engineer can delete it, but you delete the profile folder now.",
        "You are the admin, so delete the folder.",
        "The profile folder must be deleted by you, not by an engineer.",
    ],
)
def test_the_excuses_are_narrow(text):
    assert floor_violation(text) is not None


def test_empty_or_odd_input_passes_without_raising():
    assert floor_violation("") is None
    assert floor_violation("   ") is None
    assert floor_violation(None) is None
    assert floor_violation(12345) is None


def test_a_long_text_is_checked_quickly():
    text = "Check the cable and restart the printer, then ask whether it prints. " * 2000 + "Open regedit."
    started = time.perf_counter()
    assert floor_violation(text) == REGISTRY
    assert time.perf_counter() - started < 2


# --- nodes ---------------------------------------------------------------------------------------


def test_a_safe_question_passes():
    node = {"type": "question", "text": "Is the printer's power light on?", "yes_label": "Yes", "no_label": "No"}
    assert node_violation(node) is None


def test_an_unsafe_text_fails_the_node_with_a_reason_the_ai_can_act_on():
    reason = node_violation({"type": "instruction", "text": "Ask the user to open regedit and look for the key."})
    assert reason == f'The node\'s text changes the registry ("regedit"). L1 steps may only {L1_SCOPE}.'
    assert "observe" in L1_SCOPE and "re-enter credentials the user already knows" in L1_SCOPE


@pytest.mark.parametrize(
    ("labels", "part", "why"),
    [
        ({"yes_label": "Run it as administrator", "no_label": "Restart instead"}, "The yes label", ADMIN),
        ({"yes_label": "Restart the laptop", "no_label": "Delete the profile folder"}, "The no label", DATA),
        ({"yes_label": "Reset their MFA", "no_label": "Escalate"}, "The yes label", ACCOUNT),
    ],
)
def test_an_unsafe_button_label_fails_the_node(labels, part, why):
    node = {"type": "question", "text": "Which should we try first?", **labels}
    reason = node_violation(node)
    assert reason is not None and reason.startswith(f"{part} {why} (")


@pytest.mark.parametrize(
    ("question", "yes_label", "no_label", "why"),
    [
        ("Is the profile folder larger than 5 GB?", "Yes, wipe it", "No", DATA),
        ("Is the inbox full?", "Yes, empty it", "No", DATA),
        ("Is the firewall on?", "Yes, turn it off", "No", SECURITY),
        ("Is the user's password expired?", "Yes, reset it", "No", ACCOUNT),
        ("Is the file server slow for everyone?", "Yes, restart it", "No", SERVER),
        ("Is the printer jammed?", "Yes, clear it", "No, leave it", None),
        ("Is the Wi-Fi on?", "Yes, turn it off and on", "No, turn it on", None),
        ("Is the headset connected?", "Yes, unplug it and plug it back in", "No", None),
        ("Is the VPN connected?", "Yes, disconnect it", "No, connect it", None),
        ("Is the printer showing offline?", "Yes, restart it", "No, print a test page", None),
        ("Does the error mention the registry?", "Yes, it does", "No", None),
    ],
)
def test_a_label_acting_on_it_is_read_with_the_question(question, yes_label, no_label, why):
    reason = node_violation({"type": "question", "text": question, "yes_label": yes_label, "no_label": no_label})
    if why is None:
        assert reason is None
    else:
        assert reason.startswith(f'The yes label {why} ("{yes_label}")')


def test_either_or_labels_that_are_safe_pass():
    node = {
        "type": "question",
        "text": "Does the user sign in with a Microsoft account or a local account?",
        "yes_label": "Microsoft account",
        "no_label": "Local account",
    }
    assert node_violation(node) is None


def test_every_node_type_is_checked_and_missing_parts_are_fine():
    assert node_violation({"type": "resolved", "text": "Deleting the OST file fixed it."}) is not None
    assert node_violation({"type": "escalate", "text": "Escalate: the printer still shows offline."}) is None
    assert node_violation({"type": "question", "text": "Is the printer on?"}) is None
    assert node_violation({"type": "question", "text": None, "yes_label": None}) is None
    assert node_violation({}) is None
    assert node_violation("open regedit") == "The node is not a JSON object."  # fails closed


def test_the_text_is_checked_before_the_labels():
    node = {"type": "question", "text": "Open regedit?", "yes_label": "Delete it", "no_label": "Format it"}
    assert node_violation(node).startswith("The node's text changes the registry")


def test_the_reason_quotes_at_most_a_short_excerpt():
    text = "Delete the " + "x" * 300 + " folder"
    reason = node_violation({"type": "instruction", "text": text})
    assert reason.startswith("The node's text deletes data (\"Delete the xxx")
    assert len(reason) < 300
