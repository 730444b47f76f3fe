package web

// catalogEN is the English message catalog, the fallback for every other
// language. Keys are message ids; values may be fmt formats.
var catalogEN = map[string]string{
	// Titles.
	"title.login": "Sign in", "title.mfa_enroll": "Set up your authenticator app", "title.mfa_codes": "Your recovery codes",
	"title.inbox": "Inbox", "title.patients": "Find a patient", "title.patient": "Patient record",
	"title.setup": "Set up sotto", "title.setup_done": "Your practice is ready", "title.setup_invalid": "Setup link not valid",
	"title.error": "Something went wrong", "title.not_found": "Not found", "title.forbidden": "Not allowed",
	"title.invalid": "Please check what you sent", "title.rate_limited": "Too many attempts", "title.unavailable": "Temporarily unavailable",
	"title.portal": "Signed in",

	// Navigation and layout.
	"nav.skip": "Skip to content", "nav.label": "Main", "nav.inbox": "Inbox", "nav.patients": "Patients", "nav.logout": "Sign out",

	// Automatic logoff.
	"idle.warning": "For your patients' privacy you will be signed out in", "idle.stay": "Stay signed in",

	// Sign-in.
	"login.email": "E-mail address", "login.password": "Password", "login.code": "6-digit code from your authenticator app",
	"login.code_hint": "Lost your phone? Enter one of your recovery codes instead.", "login.submit": "Sign in",
	"login.enroll_link":      "First time here? Set up your authenticator app.",
	"login.err_credentials":  "The e-mail address, password or code is not right. Check them and try again.",
	"login.err_code_needed":  "Enter the 6-digit code from your authenticator app (or a recovery code), then sign in again.",
	"login.err_rate_limited": "Too many sign-in attempts. Wait a few minutes, then try again.",
	"login.err_form":         "The form could not be read. Reload the page and try again.",
	"login.code_link":        "Patients: sign in with a code sent to your phone or e-mail instead.",
	"title.login_code":       "Sign in with a code", "code.intro": "We will send a 6-digit code to the mobile phone or e-mail address your practice has on file for you.",
	"code.to": "Mobile phone or e-mail address", "code.to_hint": "For example +1 555 555 0123 or name@example.com.",
	"code.send": "Send me a code", "code.sent": "If we found your account, we sent you a code. It works once, for %d minutes.",
	"code.code": "6-digit code", "code.resend": "Send a new code", "code.password_instead": "Sign in with your password instead",
	"code.unavailable": "Sign-in codes are not available at this practice. Sign in with your password.",
	"code.err_to":      "Enter a mobile phone number or an e-mail address.", "code.err_code": "That code is not right or has expired. Check it, or ask for a new one.",
	"portal.message": "You are signed in. The patient portal pages are not available here yet; use the sotto app.",

	// Single sign-on (sign-in pages).
	"title.login_sso": "Sign in with single sign-on", "title.login_sso_mfa": "Enter your sotto code",
	"login.sso_link": "Your practice uses single sign-on? Sign in with single sign-on.",
	"sso.intro":      "Sign in with your organization's account (Okta, Microsoft, Google...). Enter your organization's sign-in name: your administrator gave it to you.",
	"sso.org":        "Organization's sign-in name", "sso.org_hint": "For example lakeside-clinic.",
	"sso.submit": "Continue", "sso.password_link": "Sign in with your e-mail address and password instead",
	"sso.continuing": "Taking you on...", "sso.continue_idp": "Continue to your organization's sign-in", "sso.continue_home": "Continue to sotto",
	"sso.err_unknown":     "Single sign-on is not set up for that sign-in name. Check the name, or sign in with your password.",
	"sso.err_unavailable": "Your organization's sign-in service cannot be reached right now. Try again in a few minutes, or sign in with your password.",
	"sso.err_failed":      "Single sign-on did not work. Start again, or sign in with your password. If it keeps failing, ask your administrator.",
	"sso.err_expired":     "This sign-in has expired or was already used. Start single sign-on again.",
	"sso.err_too_many":    "Too many wrong codes. Start single sign-on again.",
	"sso.code_intro":      "Your organization signed you in. For your patients' privacy, sotto also asks for the 6-digit code from your authenticator app.",
	"sso.enroll_intro":    "Your organization signed you in. sotto also needs a code from an authenticator app, and you have none set up yet: set one up now.",
	"sso.err_code":        "That code is not right. Codes change every 30 seconds: enter the one shown now.",
	"sso.err_code_needed": "Enter the 6-digit code from your authenticator app, or one of your recovery codes.",
	"sso.verify":          "Sign in", "sso.start_over": "Start again",
	"sso.enroll_step2": "2. Enter the 6-digit code the app now shows.",

	// MFA enrollment.
	"mfa.intro": "Staff sign in with a password and a code from an authenticator app (Google Authenticator, 1Password, Authy, ...). Enter your e-mail address and password to begin.",
	"mfa.start": "Continue", "mfa.step1": "1. Add this account to your authenticator app: type the secret key below, or open the link on the phone that has the app.",
	"mfa.secret": "Secret key:", "mfa.uri": "Setup link:", "mfa.open_app": "Open in an authenticator app",
	"mfa.step2": "2. Enter your password again and the 6-digit code the app now shows.", "mfa.code": "6-digit code", "mfa.confirm": "Confirm and sign in",
	"mfa.err_code":       "That code is not right. Codes change every 30 seconds: enter the one your app shows now.",
	"mfa.err_done":       "An authenticator app is already set up for this account. Sign in with its code.",
	"mfa.codes_intro":    "Write these ten recovery codes down or print them, and keep them somewhere safe. Each one signs you in once if you lose your phone. They are shown only now.",
	"mfa.codes_continue": "I have saved them: continue to the inbox",

	// Passkeys (sign-in and the security page).
	"passkey.or": "or", "passkey.signin": "Sign in with a passkey", "passkey.instead": "Use a passkey instead",
	"passkey.err_failed":    "The passkey was not accepted. Try again, or sign in with your password and code.",
	"passkey.err_cancelled": "The passkey request was cancelled or timed out. Try again when you are ready.",
	"passkey.err_password":  "Enter your password first, then use your passkey instead of the code.",
	"title.security":        "Security", "nav.security": "Security",
	"security.passkeys": "Passkeys", "security.intro": "A passkey signs you in with your fingerprint, face or device PIN instead of your password and code. It works only on this site, so it cannot be phished.",
	"security.none": "You have no passkeys yet.", "security.synced": "Synced",
	"security.added_on": "Added %s", "security.last_used": "last used %s", "security.never_used": "never used",
	"security.remove": "Remove", "security.remove_named": "Remove the passkey %s",
	"security.add": "Add a passkey", "security.name": "Name", "security.name_hint": "So you can tell your passkeys apart, for example \"Work laptop\".",
	"security.password": "Your password", "security.password_hint": "Adding a way to sign in needs your password again.",
	"security.add_button": "Add a passkey", "security.added": "Your passkey was added. You can now sign in with it.",
	"security.removed":      "The passkey was removed. It no longer signs you in.",
	"security.unsupported":  "Adding a passkey needs a browser with passkey support and JavaScript turned on.",
	"security.unavailable":  "Passkeys are not available on this server yet: ask your administrator.",
	"security.err_script":   "Adding a passkey needs JavaScript: turn it on, or use a browser that supports passkeys.",
	"security.err_password": "That password is not right. Check it and try again.",
	"security.err_exists":   "This passkey is already registered.", "security.err_limit": "You already have 10 passkeys. Remove one first.",
	"security.err_name":         "Give the passkey a name of 1 to 64 characters.",
	"compliance.target.passkey": "Passkey", // the audit trail's name of a passkey target

	// Setup.
	"setup.intro":    "Create your practice and its first administrator. This link works once and expires an hour after the server printed it.",
	"setup.org_name": "Practice name", "setup.name": "Your full name", "setup.email": "Your e-mail address (you sign in with it)",
	"setup.password": "Password (at least 12 characters; a long phrase is best)", "setup.submit": "Create practice",
	"setup.bad_link":         "This setup link is invalid, already used or expired. Restart sotto on an empty database to get a new one.",
	"setup.done_intro":       "Your practice is ready. Staff accounts sign in with a password and a code from an authenticator app.",
	"setup.done_secret_once": "Add this account to your authenticator app (Google Authenticator, 1Password, Authy, ...) now: this secret is shown only once.",

	// Staff invitation (the link an administrator's invitation e-mail holds).
	"title.welcome": "Choose your password", "title.welcome_invalid": "This link does not work", "title.welcome_done": "Your password is set",
	"welcome.intro": "%s made you a staff account on sotto, its secure messaging. Choose your password; then sign in and set up an authenticator app.",
	"welcome.email": "Your sign-in e-mail address", "welcome.email_hint": "You sign in with this address. Your administrator chose it.",
	"welcome.password": "Choose a password", "welcome.password_again": "Type the password again",
	"welcome.submit":       "Save my password",
	"welcome.err_mismatch": "The two passwords are not the same. Type the same password in both fields.",
	"welcome.err_rate":     "Too many attempts. Wait a few minutes, then try again.",
	"welcome.invalid":      "This invitation link does not work any more: it was already used, it expired, or a newer invitation replaced it. Ask your practice's administrator to send you a new one.",
	"welcome.done":         "Your password is saved. Sign in now with your e-mail address and this password; you will then set up an authenticator app on your phone.",
	"welcome.sign_in":      "Go to sign-in",

	// Fresh authentication (a sensitive change asks for the password again).
	"title.reauth": "Confirm it is you", "reauth.intro": "For your security, enter your current password to make this change.",
	"reauth.password": "Current password", "reauth.submit": "Confirm", "reauth.cancel": "Cancel",
	"reauth.err_password": "That password is not right. Try again.",

	// Errors.
	"error.request_id": "Reference for support: %s", "error.back_inbox": "Back to the inbox", "error.sign_in": "Go to sign-in",
	"error.internal":     "Something went wrong on our side. Try again in a moment; if it keeps happening, tell your administrator the reference below.",
	"error.not_found":    "This page does not exist, or you do not have access to it.",
	"error.cross_origin": "This form was sent from another site and was refused. Go back to sotto and try again.",

	// Inbox.
	"inbox.queues": "Queues", "inbox.conversations": "Conversations", "inbox.unread_n": "%d unread", "inbox.unread": "Unread",
	"inbox.patient_hidden": "Patient", "inbox.older": "Older conversations",
	"inbox.empty": "Nothing here. New conversations in this queue will appear on their own.",
	"inbox.pick":  "Choose a conversation on the left to read it. Press ? for keyboard shortcuts.",
	"queue.mine":  "Mine", "queue.unassigned": "Unassigned", "queue.urgent": "Urgent", "queue.all": "Everything",

	// Thread.
	"thread.assign_me": "Assign to me", "thread.close": "Close", "thread.reopen": "Reopen", "thread.assigned_to": "assigned to %s",
	"thread.messages": "Messages", "thread.no_messages": "No messages yet.", "thread.read_only": "Your role may read this conversation but not reply.",
	"msg.internal_label": "Internal - not visible to patient", "msg.retracted": "This message was retracted.",
	"msg.attachment": "Attachment", "msg.attachment_n": "Attachment %d", "msg.read": "Read", "msg.delivered": "Delivered", "msg.sent": "Sent",
	"notified.label": "Patient notified:", "notified.channel.sms": "text", "notified.channel.email": "e-mail", "notified.channel.push": "push",
	"notified.channel.log": "demo outbox", "notified.channel.none": "no channel",
	"notified.status.queued": "queued", "notified.status.held": "held for quiet hours", "notified.status.sent": "sent",
	"notified.status.delivered": "delivered", "notified.status.failed": "failed", "notified.status.undelivered": "not delivered",
	"notified.status.suppressed": "not sent", "notified.status.cancelled": "cancelled",
	"msg.staff": "Staff", "msg.patient": "Patient", "msg.proxy_suffix": "%s (for the patient)",
	"live.new_message": "New message from %s",
	"compose.label":    "Reply to the patient", "compose.internal": "Internal note", "compose.hint": "Ctrl+Enter sends",
	"compose.send": "Send", "compose.err_empty": "Write a message before sending.",

	// Keyboard shortcuts.
	"keys.title": "Keyboard shortcuts", "keys.move": "Next / previous conversation", "keys.open": "Open the conversation",
	"keys.reply": "Reply", "keys.assign": "Assign to me", "keys.close": "Close the conversation", "keys.search": "Find a patient",
	"keys.send": "Send the reply", "keys.help": "Show this list", "keys.dismiss": "Close", "keys.hint": "Press ? for keyboard shortcuts.",

	// Patients.
	"patients.query": "Name, MRN, phone, e-mail or date of birth (YYYY-MM-DD)", "patients.search": "Search",
	"patients.hint": "Searches are recorded in the audit trail.", "patients.results": "%d patients found",
	"patients.none": "No patient matches. Check the spelling, or search by MRN or date of birth.",
	"patient.name":  "Name", "patient.dob": "Date of birth", "patient.mrn": "MRN", "patient.language": "Language",
	"patient.care_team": "Care team", "patient.no_care_team": "No care team yet", "patient.panel": "Patient",
	"patient.conversations": "Conversations", "patient.no_conversations": "No conversations with this patient yet.",

	// Structured requests.
	"request.refill": "Refill request", "request.medication": "Medication", "request.dose": "Dose", "request.pharmacy": "Pharmacy",
	"request.appointment": "Appointment request",

	// Roles, categories, statuses, languages.
	"role.admin": "Administrator", "role.provider": "Provider", "role.nurse": "Nurse", "role.front_desk": "Front desk",
	"role.billing": "Billing", "role.compliance": "Compliance", "role.patient": "Patient", "role.proxy": "Proxy",
	"cat.general": "Question", "cat.refill": "Refill", "cat.appointment": "Appointment", "cat.billing": "Billing",
	"cat.lab_result": "Lab result", "cat.follow_up": "Follow-up", "cat.urgent": "Urgent", "cat.internal": "Internal",
	"status.open": "Open", "status.pending_patient": "Waiting for the patient", "status.closed": "Closed",
	"lang.en": "English", "lang.es": "Spanish",

	// Times.
	"time.now": "just now", "time.min_ago": "%d min ago", "time.h_ago": "%d h ago", "time.yesterday": "yesterday",
	"time.days_ago": "%d days ago", "time.today": "Today", "time.yesterday_cap": "Yesterday",
	"time.date": "%s %d %s %d", "time.exact": "%s, %s %s",
	"wd.0": "Sun", "wd.1": "Mon", "wd.2": "Tue", "wd.3": "Wed", "wd.4": "Thu", "wd.5": "Fri", "wd.6": "Sat",
	"mon.1": "Jan", "mon.2": "Feb", "mon.3": "Mar", "mon.4": "Apr", "mon.5": "May", "mon.6": "Jun",
	"mon.7": "Jul", "mon.8": "Aug", "mon.9": "Sep", "mon.10": "Oct", "mon.11": "Nov", "mon.12": "Dec",
}
