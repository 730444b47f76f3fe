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

	// MFA enrollment.
	"mfa.intro": "Staff sign in with a password and a code from an authenticator app (Google Authenticator, 1Password, Authy, ...). Enter your e-mail address and password to begin.",
	"mfa.start": "Continue", "mfa.step1": "1. Add this account to your authenticator app: type the secret key below, or open the link on the phone that has the app.",
	"mfa.secret": "Secret key:", "mfa.uri": "Setup link:", "mfa.open_app": "Open in an authenticator app",
	"mfa.step2": "2. Enter your password again and the 6-digit code the app now shows.", "mfa.code": "6-digit code", "mfa.confirm": "Confirm and sign in",
	"mfa.err_code":       "That code is not right. Codes change every 30 seconds: enter the one your app shows now.",
	"mfa.err_done":       "An authenticator app is already set up for this account. Sign in with its code.",
	"mfa.codes_intro":    "Write these ten recovery codes down or print them, and keep them somewhere safe. Each one signs you in once if you lose your phone. They are shown only now.",
	"mfa.codes_continue": "I have saved them: continue to the inbox",

	// Setup.
	"setup.intro":    "Create your practice and its first administrator. This link works once and expires an hour after the server printed it.",
	"setup.org_name": "Practice name", "setup.name": "Your full name", "setup.email": "Your e-mail address (you sign in with it)",
	"setup.password": "Password (at least 12 characters; a long phrase is best)", "setup.submit": "Create practice",
	"setup.bad_link":         "This setup link is invalid, already used or expired. Restart sotto on an empty database to get a new one.",
	"setup.done_intro":       "Your practice is ready. Staff accounts sign in with a password and a code from an authenticator app.",
	"setup.done_secret_once": "Add this account to your authenticator app (Google Authenticator, 1Password, Authy, ...) now: this secret is shown only once.",

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
