package web

// catalogPortalEN holds the English messages of the patient portal and the
// invitation pages, merged into catalogEN (i18n.go). Plain words: patients
// read them on a phone, often in a waiting room.
var catalogPortalEN = map[string]string{
	// Invitation.
	"invite.title": "Set up your secure messages", "invite.title_invalid": "This link does not work",
	"invite.intro":       "%s invites you to send and receive secure messages. First confirm your date of birth, then choose a password.",
	"invite.intro_proxy": "%s invites you to send and receive secure messages for someone you care for. Confirm their date of birth, give your own name and e-mail address, and choose a password.",
	"invite.dob":         "Your date of birth", "invite.dob_proxy": "Their date of birth (the patient's)",
	"invite.dob_hint": "Pick it in the calendar, or type it as year-month-day, for example 1985-07-14.",
	"invite.name":     "Your full name", "invite.email": "Your e-mail address (you will sign in with it)",
	"invite.password":      "Choose a password",
	"invite.password_hint": "At least 12 characters. A few unrelated words are easy to remember and hard to guess.",
	"invite.submit":        "Confirm and continue", "invite.have_account": "Already set up? Sign in.",
	"invite.invalid":                  "This invitation link does not work any more: it was already used, it expired, or too many wrong dates of birth were entered. Ask the practice to send you a new one.",
	"invite.err_dob":                  "That date of birth does not match our records. Check it and try again. After a few wrong tries this link stops working and you will need a new one from the practice.",
	"invite.err_dob_missing":          "Enter the date of birth.",
	"invite.err_name":                 "Enter your full name.",
	"invite.err_email":                "Enter a valid e-mail address, for example name@example.com.",
	"invite.err_email_taken":          "An account with this e-mail address already exists. Sign in with it, or use another address.",
	"invite.err_registered":           "You already have an account. Sign in with your e-mail address and password.",
	"invite.err_password_too_short":   "Choose a password of at least 12 characters. A few unrelated words make a long password that is easy to remember.",
	"invite.err_password_personal":    "Choose a password that does not contain your name or e-mail address.",
	"invite.err_password_common":      "This password is too easy to guess. Choose a different one, such as a few unrelated words.",
	"invite.err_password_predictable": "This password is a repeated or sequential pattern and easy to guess. Choose a different one, such as a few unrelated words.",
	"invite.err_password":             "This password cannot be used. Choose a different one of 12 to 256 characters, such as a few unrelated words.",
	"invite.err_check":                "Some of the information is not right. Check each field and try again.",

	// Layout and navigation.
	"portal.nav_messages": "Messages", "portal.nav_settings": "Settings",
	"portal.idle_warning": "For your privacy you will be signed out in",

	// Home.
	"portal.title_home": "Your messages", "portal.new_message": "New message", "portal.unread": "Unread", "portal.for": "For %s",
	"portal.empty": "No messages yet. Tap “New message” to write to your care team.",

	// New message.
	"portal.title_new": "New message", "portal.back": "Back to all messages", "portal.for_whom": "Who is this message about?",
	"portal.reason":         "What is it about?",
	"portal.reason_general": "Question", "portal.hint_general": "Ask your care team anything.",
	"portal.reason_refill": "Prescription refill", "portal.hint_refill": "Ask for more of a medicine you take.",
	"portal.reason_appointment": "Appointment", "portal.hint_appointment": "Ask for a visit, or to change one.",
	"portal.reason_billing": "Bill or payment", "portal.hint_billing": "Ask about a bill, insurance or a payment.",
	"portal.refill_details": "About the medicine", "portal.medication": "Name of the medicine",
	"portal.dose":                "Dose, if you know it (for example 10 mg once a day)",
	"portal.pharmacy":            "Pharmacy (name and town)",
	"portal.appointment_details": "When could you come?",
	"portal.times_hint":          "Give one to three times that suit you, for example “Tuesday morning” or “after 4 pm on weekdays”.",
	"portal.time_1":              "First choice", "portal.time_2": "Second choice (if you like)", "portal.time_3": "Third choice (if you like)",
	"portal.body": "Your message", "portal.send": "Send message",
	"portal.attach":          "Add a photo or PDF",
	"portal.attach_hint":     "Take a photo with your camera or choose a file of up to 20 MB. We remove location details from photos.",
	"portal.subject_general": "Question", "portal.subject_refill": "Refill: %s",
	"portal.subject_appointment": "Appointment request", "portal.subject_billing": "Billing question",

	// Conversation.
	"portal.title_thread": "Conversation", "portal.reply": "Write a reply", "portal.you": "You", "portal.care_team": "Your care team",

	// Form errors: each says what to do next.
	"portal.err_reason":     "Choose what your message is about.",
	"portal.err_patient":    "Choose who this message is about.",
	"portal.err_medication": "Write the name of the medicine you need more of.",
	"portal.err_times":      "Give at least one time that suits you.",
	"portal.err_body":       "Write your message, or add a photo, before sending.",
	"portal.err_too_large":  "This file is too big. Send a file of at most 20 MB, or take the photo again.",
	"portal.err_file_type":  "This kind of file cannot be sent. Send a photo (JPEG, PNG or HEIC) or a PDF.",
	"portal.err_file_bad":   "This file could not be read. Take the photo again, or choose another file.",
	"portal.err_form":       "The form could not be read. Reload the page and try again.",
	"portal.err_check":      "Something you wrote is too long or has characters that cannot be sent. Shorten it and try again.",
	"portal.not_found":      "This conversation does not exist, or it is not yours to see.",
	"portal.back_home":      "Back to your messages",

	// Settings.
	"portal.title_settings": "Settings",
	"portal.notify_legend":  "How should we tell you about new messages?",
	"portal.notify_hint":    "We only tell you that there is a new message, never what it says. You read it here, after you sign in.",
	"portal.notify_sms":     "Text message (SMS)",
	"portal.sms_consent":    "By turning on text messages you agree that %s may text the mobile number they have for you when you have a new secure message. Message and data rates may apply. Reply STOP at any time to stop.",
	"portal.sms_consent_at": "You agreed to text messages on %s.",
	"portal.notify_email":   "E-mail", "portal.notify_push": "Alerts on this phone or computer (push)",
	"portal.language": "Language", "portal.lang_en": "English", "portal.lang_es": "Español",
	"portal.save": "Save", "portal.saved": "Your settings are saved.",
}
