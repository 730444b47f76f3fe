package web

// catalogComplianceEN holds the English messages of the compliance pages
// (the audit trail, its verification, the break-glass review), merged into
// catalogEN (i18n.go). Actions, outcomes and object types of the trail
// read in plain words.
var catalogComplianceEN = map[string]string{
	// Navigation and titles.
	"compliance.nav": "Compliance", "compliance.subnav": "Compliance",
	"compliance.nav_trail": "Audit trail", "compliance.nav_verify": "Verify", "compliance.nav_break_glass": "Emergency access",
	"compliance.title": "Audit trail", "compliance.title_patient": "Accounting of disclosures",
	"compliance.title_verify": "Verify the audit trail", "compliance.title_break_glass": "Emergency access (break-glass)",

	// Search.
	"compliance.filters":       "Filter the trail",
	"compliance.patient_query": "Find a patient by name or MRN", "compliance.find": "Find",
	"compliance.picks":   "Matching patients: choose one to filter by",
	"compliance.patient": "Patient", "compliance.patient_hint": "Any patient. Find one above to see only entries about them.",
	"compliance.any_patient": "Any patient", "compliance.user": "User", "compliance.anyone": "Anyone",
	"compliance.action": "Action", "compliance.any_action": "Any action",
	"compliance.from": "From (first day)", "compliance.to": "To (last day)", "compliance.search": "Show",
	"compliance.zone_hint":  "Days and times are in your time zone (%s).",
	"compliance.err_filter": "This filter cannot be used. Choose the user and action from the lists, give days as year-month-day (for example 2026-03-02) with the first day before the last, then try again.",
	"compliance.err_query":  "Type part of the patient's name or their MRN, then choose Find.",
	"compliance.export":     "Export these entries:", "compliance.export_csv": "CSV (spreadsheet)", "compliance.export_fhir": "FHIR AuditEvent bundle",
	"compliance.export_hint": "An export holds at most 1000 entries and is itself recorded in the trail; narrow the days for more.",
	"compliance.caption":     "Audit entries, oldest first (%d shown)", "compliance.none": "No entry matches this filter. Widen the days or choose Any action.",
	"compliance.next":    "Next entries",
	"compliance.col_seq": "No.", "compliance.col_when": "When", "compliance.col_who": "Who", "compliance.col_what": "What",
	"compliance.col_target": "On", "compliance.col_patient": "Patient (MRN)", "compliance.col_outcome": "Outcome", "compliance.col_source": "Network address",
	"compliance.disabled":        "disabled",
	"compliance.patient_erased":  "Erased patient",
	"compliance.patient_unknown": "Unknown patient",
	"compliance.actor.system":    "sotto (automatic)", "compliance.actor.anonymous": "Not signed in",

	// Accounting of disclosures.
	"compliance.accounting_intro": "Every recorded access to and use of this patient's information, oldest first: who, when, what and whether it was allowed.",
	"compliance.search_more":      "Filter these entries by user, action or days",

	// Verification.
	"compliance.verify_intro": "Each entry of the trail is chained to the one before it, and the chain's head is signed regularly with the practice's key. Verifying reads the whole trail and tells you whether any entry was changed, removed or inserted. The run is recorded in the trail.",
	"compliance.verify_run":   "Verify now", "compliance.verify_again": "Verify again",
	"compliance.verify_ok":     "The trail is intact",
	"compliance.verify_ok_n":   "All %d entries were checked and none was changed, removed or inserted.",
	"compliance.verify_broken": "The trail has been tampered with",
	"compliance.broken_entry":  "First broken entry", "compliance.broken_what": "What is wrong", "compliance.broken_before": "Entries verified before it",
	"compliance.broken_show":    "Show the trail from this entry",
	"compliance.broken_next":    "Keep this page, do not change anything in the database, and tell your security officer and administrator now: the trail must be compared with its exports and backups.",
	"compliance.checkpoint":     "Latest signed checkpoint",
	"compliance.checkpoint_seq": "Covers entries up to", "compliance.checkpoint_signed": "Signed",
	"compliance.checkpoint_sig": "Signature", "compliance.checkpoint_count": "Checkpoints checked",
	"compliance.sig_ok":                "Valid: signed with the practice's key",
	"compliance.sig_bad":               "Not verified under the practice's key",
	"compliance.no_checkpoint":         "No signed checkpoint yet. The server signs one regularly; verify again later.",
	"compliance.reason.hash":           "the entry was changed after it was recorded",
	"compliance.reason.prev_hash":      "the entry does not follow the one before it (entries were reordered or inserted)",
	"compliance.reason.gap":            "entries are missing (deleted)",
	"compliance.reason.head":           "the end of the trail does not match its recorded head (entries were removed or forged at the end)",
	"compliance.reason.checkpoint":     "a signed checkpoint does not match the trail",
	"compliance.reason.checkpoint_sig": "a checkpoint's signature is not valid",
	"compliance.reason.malformed":      "the entry cannot be read",
	"compliance.reason.patient_index":  "the index of entries by patient does not match the trail (it could hide entries from a patient's accounting of disclosures)",

	// Break-glass.
	"compliance.bg_intro": "Staff can open a patient's record outside their care team in an emergency, for an hour, after stating a reason. Review each grant and what was done under it.",
	"compliance.bg_since": "Granted since", "compliance.bg_since_hint": "Leave empty for the last 90 days.",
	"compliance.err_since":  "Give the day as year-month-day (for example 2026-03-02), or leave it empty for the last 90 days.",
	"compliance.bg_caption": "Emergency access grants, newest first (%d)", "compliance.bg_none": "No emergency access was granted in this period.",
	"compliance.bg_reason": "Reason given", "compliance.bg_granted": "Granted", "compliance.bg_expires": "Expires",
	"compliance.bg_did": "What they did", "compliance.bg_trail": "Their entries about this patient",
	"compliance.bg_active": "active",

	// Outcomes.
	"compliance.outcome.success": "Done", "compliance.outcome.failure": "Failed", "compliance.outcome.denied": "Refused",

	// Objects.
	"compliance.target.attachment": "Attachment", "compliance.target.audit_trail": "Audit trail", "compliance.target.break_glass": "Emergency access",
	"compliance.target.conversation": "Conversation", "compliance.target.department": "Department", "compliance.target.message": "Message",
	"compliance.target.notification": "Notification", "compliance.target.notifications": "Notifications",
	"compliance.target.notify_template": "Notification wording", "compliance.target.on_call": "On-call", "compliance.target.org": "Practice",
	"compliance.target.patient": "Patient record", "compliance.target.patient_key": "Patient's data key",
	"compliance.target.push_subscription": "Push alerts", "compliance.target.recovery_code": "Recovery code",
	"compliance.target.sms": "Text message", "compliance.target.user": "User account",
	"compliance.target.sso": "Single sign-on",

	// Actions.
	"compliance.action.auth.sign_in": "Signed in", "compliance.action.auth.sign_in_failed": "Sign-in failed",
	"compliance.action.auth.mfa_enroll": "Set up an authenticator app", "compliance.action.auth.mfa_verify": "Confirmed an authenticator code",
	"compliance.action.auth.mfa_failed": "Entered a wrong authenticator code", "compliance.action.auth.mfa_reset": "Reset an authenticator app",
	"compliance.action.auth.password_change": "Changed a password", "compliance.action.auth.lockout": "Account locked after failed sign-ins",
	"compliance.action.auth.sign_out": "Signed out", "compliance.action.auth.sign_in_code": "Was sent a one-time sign-in code",
	"compliance.action.auth.session_expired": "Session expired",
	"compliance.action.org.create":           "Created the practice", "compliance.action.org.update": "Changed the practice's settings",
	"compliance.action.user.create": "Created a user account", "compliance.action.user.update": "Changed a user account",
	"compliance.action.user.disable":      "Disabled a user account",
	"compliance.action.user.invite":       "Sent a staff account invitation",
	"compliance.action.department.create": "Created a department", "compliance.action.location.create": "Created a location", "compliance.action.department.member": "Changed a department's members",
	"compliance.action.patient.create": "Added a patient", "compliance.action.patient.update": "Changed a patient's record",
	"compliance.action.patient.view": "Viewed a patient's record", "compliance.action.patient.search": "Searched for patients",
	"compliance.action.patient.invite": "Invited a patient to the portal", "compliance.action.patient.invite_accept": "Accepted a portal invitation",
	"compliance.action.patient.invite_failed": "Gave a wrong birth date on an invitation",
	"compliance.action.conversation.create":   "Started a conversation", "compliance.action.conversation.view": "Opened a conversation",
	"compliance.action.conversation.list": "Listed conversations", "compliance.action.conversation.update": "Changed a conversation",
	"compliance.action.message.send": "Sent a message", "compliance.action.message.read": "Read a message",
	"compliance.action.message.deliver": "Message delivered", "compliance.action.message.retract": "Retracted a message",
	"compliance.action.attachment.upload": "Uploaded an attachment", "compliance.action.attachment.download": "Opened an attachment",
	"compliance.action.notification.send": "Sent a notification", "compliance.action.notification.status": "Notification delivery reported",
	"compliance.action.notification.retry": "Retried a failed notification", "compliance.action.notification.prefs": "Changed notification settings",
	"compliance.action.notification.opt_out": "Stopped text messages (STOP)", "compliance.action.notification.opt_in": "Restarted text messages (START)",
	"compliance.action.notification.inbound": "Received a text message", "compliance.action.webhook.rejected": "Refused an unsigned webhook call",
	"compliance.action.notification.push_subscribe": "Turned on push alerts",
	"compliance.action.permission.change":           "Changed the permissions",
	"compliance.action.access.break_glass":          "Was granted emergency access", "compliance.action.access.break_glass_use": "Used emergency access",
	"compliance.action.access.denied": "Was refused access",
	"compliance.action.key.rotate":    "Rotated an encryption key", "compliance.action.key.shred": "Erased a patient's data",
	"compliance.action.data.export": "Exported data", "compliance.action.audit.view": "Read the audit trail",
	"compliance.action.audit.verify": "Verified the audit trail", "compliance.action.audit.checkpoint": "Signed an audit checkpoint",
	"compliance.action.config.change": "Changed the configuration", "compliance.action.system.setup": "Set up sotto",
}
