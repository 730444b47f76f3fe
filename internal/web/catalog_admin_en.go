package web

// catalogAdminEN holds the English messages of the admin console, merged
// into catalogEN (i18n.go).
var catalogAdminEN = map[string]string{
	// Titles and navigation.
	"admin.title_home": "Administration", "admin.title_users": "Staff accounts", "admin.title_departments": "Departments",
	"admin.title_permissions": "Permissions", "admin.title_notifications": "Notifications",
	"admin.nav_admin": "Admin", "admin.nav_label": "Administration",
	"admin.nav.home": "Overview", "admin.nav.users": "Staff", "admin.nav.departments": "Departments",
	"admin.nav.permissions": "Permissions", "admin.nav.notifications": "Notifications",

	// What the last action did.
	"admin.done.disabled": "The account is disabled and signed out everywhere.", "admin.done.enabled": "The account is enabled again.",
	"admin.done.signed_out": "The account is signed out everywhere.", "admin.done.member_added": "The department has a new member.",
	"admin.done.member_removed": "The member left the department.", "admin.done.permissions_saved": "The permissions are saved. They apply at once.",
	"admin.done.template_saved": "Your wording is saved.", "admin.done.template_restored": "The default wording is back.",
	"admin.done.on_call_set": "The on-call setting is saved.", "admin.done.on_call_cleared": "Nobody is on call now.",
	"admin.done.retried": "The notification is queued to be sent again.",

	// Overview.
	"admin.home_intro": "Manage your practice's staff accounts, departments, permissions and notifications. Every change is recorded in the audit trail.",
	"admin.home_users": "Active: %d", "admin.home_disabled": "disabled: %d",
	"admin.home_depts": "Queues in the inbox: %d", "admin.home_perms": "Who may read, reply, assign, close and export each kind of conversation",
	"admin.home_failed":    "Failed in the last %d days: %d",
	"admin.home_no_faults": "Nothing failed in the last %d days.",

	// Staff accounts.
	"admin.users_intro":   "Add staff members below: each gets an e-mail with a link to choose a password, then sets up an authenticator app at first sign-in. Disabling an account signs it out everywhere at once; you can enable it again later.",
	"admin.users_caption": "Staff accounts: %d", "admin.users_empty": "No staff accounts yet.",
	"admin.col_name": "Name", "admin.col_email": "E-mail", "admin.col_role": "Role", "admin.col_departments": "Departments",
	"admin.col_mfa": "Authenticator app", "admin.col_status": "Status", "admin.col_actions": "Actions",
	"admin.mfa_yes": "Set up", "admin.mfa_no": "Not set up yet", "admin.status_active": "Active", "admin.status_disabled": "Disabled",
	"admin.none": "None", "admin.you": "This is you",
	"admin.disable": "Disable", "admin.enable": "Enable again", "admin.sign_out": "Sign out everywhere",
	"admin.status_invited": "Invited", "admin.status_invite_expired": "Invitation expired",
	"admin.staff_add":       "Add a staff member",
	"admin.staff_add_intro": "They get an e-mail with a link to choose their password (it works once, for 7 days). You never see or set their password.",
	"admin.staff_name":      "Full name", "admin.staff_email": "Work e-mail address (they sign in with it)",
	"admin.staff_role": "Role", "admin.staff_role_pick": "Choose a role", "admin.staff_departments": "Departments (inbox queues)",
	"admin.staff_invite": "Send invitation", "admin.staff_resend": "Resend invitation",
	"admin.done.invited":           "The staff member is added and their invitation is on its way.",
	"admin.done.invite_sent":       "A new invitation is on its way. Earlier links no longer work.",
	"admin.err_staff_name":         "Enter the staff member's full name.",
	"admin.err_staff_email":        "Enter a valid e-mail address, such as name@example.com.",
	"admin.err_staff_role":         "Choose the staff member's role.",
	"admin.err_staff_departments":  "A department you picked no longer exists. Reload the page and pick again.",
	"admin.err_staff_email_taken":  "An account with this e-mail address already exists.",
	"admin.err_staff_no_email":     "E-mail is not configured on this server, so no invitation can be sent. Ask whoever runs sotto to set up SMTP.",
	"admin.tkind.staff_invitation": "Staff invitation", "admin.nkind.staff_invitation": "Staff invitation",

	// Departments.
	"admin.depts_intro": "Each department is a queue in the inbox: its members see and answer its conversations.",
	"admin.depts_empty": "No departments yet. Add the first one above.", "admin.new_department": "New department (e.g. Nursing, Front Desk)",
	"admin.done.dept_added": "The department is added. Add its members below.",
	"admin.members":         "Members", "admin.no_members": "Nobody yet. Add a staff member below.", "admin.remove": "Remove",
	"admin.add_member": "Add a staff member", "admin.add": "Add", "admin.everyone_in": "Every active staff member is already in this department.",
	"admin.disabled_mark": "(disabled)",

	// Permissions.
	"admin.perms_intro": "Tick what each role may do with each kind of conversation. Patients and proxies are not listed: they read and reply in their own conversations only.",
	"admin.perms_hint":  "Saving replaces the whole table and applies at once to everyone in each role. The change is recorded in the audit trail.",
	"admin.perms_cell":  "%s, %s: %s", "admin.perms_save": "Save permissions", "admin.not_applicable": "Does not apply",
	"admin.action.read": "Read", "admin.action.reply": "Reply", "admin.action.assign": "Assign", "admin.action.close": "Close",
	"admin.action.share_lab_result": "Share lab results", "admin.action.export": "Export",

	// Notification wording.
	"admin.tpl_heading": "Wording",
	"admin.tpl_intro":   "Notifications never hold patient data: they only say that something waits in sotto. Write your practice's own wording, or keep the default.",
	"admin.tpl_vars":    "Variables you may use: %s", "admin.tpl_text": "Text in %s",
	"admin.tpl_custom": "Your own wording", "admin.tpl_default": "Default wording", "admin.tpl_changed": "changed %s",
	"admin.tpl_baa":     "Uses the appointment date or time: only a channel with a business associate agreement (BAA) may send it.",
	"admin.tpl_refused": "These channels would refuse it:", "admin.tpl_save": "Save", "admin.tpl_restore": "Restore the default",
	"admin.tpl_err_var":       "%s cannot be used in this notification. You may use: %s.",
	"admin.tpl_err_empty":     "Write the text of the notification. You may use: %s.",
	"admin.tpl_err_other":     "This text cannot be saved: %s Variables you may use: %s.",
	"admin.tkind.new_message": "New message", "admin.tkind.invitation": "Invitation", "admin.tkind.appointment_reminder": "Appointment reminder",
	"admin.tkind.one_time_code": "Sign-in code", "admin.tkind.staff_item": "New item for staff", "admin.tkind.staff_urgent": "Urgent item for staff",

	// Channels.
	"admin.ch_heading": "Channels", "admin.ch_intro": "Channels are server settings: ask whoever runs sotto to change them.",
	"admin.ch_none":     "No notification channel is configured on this server, so nothing is sent.",
	"admin.col_channel": "Channel", "admin.col_configured": "Configured", "admin.col_baa": "BAA on file", "admin.col_refuses": "Wording it would refuse",
	"admin.yes": "Yes", "admin.no": "No",
	"admin.channel.sms": "Text message (SMS)", "admin.channel.email": "E-mail", "admin.channel.push": "Push", "admin.channel.log": "Demo outbox",

	// On call.
	"admin.oncall_heading": "On call",
	"admin.oncall_intro":   "The person on call hears of urgent patient messages by push and, with a number, by text message.",
	"admin.oncall_now":     "%s is on call.", "admin.oncall_phone": "Urgent texts go to %s.", "admin.oncall_push": "No number: push only.",
	"admin.oncall_nobody": "Nobody is on call.", "admin.oncall_person": "Who is on call",
	"admin.oncall_number":      "Mobile number for urgent texts (optional)",
	"admin.oncall_number_hint": "In international form, for example +1 500 555 0100. Leave it empty for push only.",
	"admin.oncall_save":        "Save", "admin.oncall_clear": "Nobody is on call",
	"admin.oncall_err_user":  "Choose an active staff member.",
	"admin.oncall_err_phone": "sotto cannot text this number. Write it in international form, for example +1 500 555 0100, or leave it empty for push only.",

	// Failed notifications.
	"admin.dl_heading": "Failed notifications",
	"admin.dl_intro":   "Notifications that could not be sent after every attempt. Fix the cause (often the channel's settings or the address on file), then retry.",
	"admin.dl_empty":   "No failed notifications. Nothing to do.",
	"admin.col_id":     "Notification", "admin.col_kind": "Kind", "admin.col_error": "Error code", "admin.col_attempts": "Attempts",
	"admin.col_when": "Last attempt", "admin.retry": "Retry",
	"admin.nkind.new_message": "New message", "admin.nkind.unread_nudge": "Unread reminder", "admin.nkind.staff_queue": "Staff queue",
	"admin.nkind.invitation": "Invitation",

	// Single sign-on.
	"admin.title_sso": "Single sign-on", "admin.nav.sso": "Single sign-on",
	"admin.home_sso":       "Let staff sign in with your organization's accounts (OpenID Connect)",
	"admin.done.sso_saved": "Single sign-on is saved. It applies to the next sign-in.", "admin.done.sso_removed": "Single sign-on is removed. Staff sign in with their passwords.",
	"admin.sso_intro":            "Staff can sign in with your organization's identity provider (Okta, Microsoft Entra ID, Google Workspace or any OpenID Connect provider) instead of a password. Only existing, enabled staff accounts whose verified e-mail address matches can sign in; nobody is created. Every change is recorded in the audit trail.",
	"admin.sso_register_heading": "Register sotto with your provider",
	"admin.sso_register_intro":   "Create a web application (OpenID Connect, authorization code) at your provider and register this redirect URI:",
	"admin.sso_link_intro":       "Staff sign in at",
	"admin.sso_settings_heading": "Settings", "admin.sso_none": "Single sign-on is not set up: staff sign in with their passwords.",
	"admin.sso_on": "On", "admin.sso_off": "Off",
	"admin.sso_name": "Sign-in name", "admin.sso_name_hint": "What staff type on the sign-in page: 2 to 63 lowercase letters, digits and hyphens, for example lakeside-clinic.",
	"admin.sso_issuer": "Issuer URL", "admin.sso_issuer_hint": "From your provider, for example https://example.okta.com. sotto checks its discovery document before saving.",
	"admin.sso_client": "Client ID", "admin.sso_secret": "Client secret",
	"admin.sso_secret_hint": "From your provider. It is stored encrypted and never shown again.",
	"admin.sso_secret_kept": "A secret is stored and never shown. Leave this empty to keep it, or type a new one to replace it.",
	"admin.sso_mfa":         "The provider's sign-in counts as the second factor",
	"admin.sso_mfa_hint":    "Tick this only if your provider always requires multi-factor authentication. Otherwise staff also enter sotto's authenticator code after signing in there.",
	"admin.sso_enabled":     "Single sign-on is on", "admin.sso_save": "Save", "admin.sso_remove": "Remove single sign-on",
	"admin.sso_err_name":      "Choose a sign-in name of 2 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
	"admin.sso_err_taken":     "Another organization already uses this sign-in name. Choose another.",
	"admin.sso_err_issuer":    "The issuer must be an https:// address (http:// only for a provider on this server), without anything after ? or #.",
	"admin.sso_err_discovery": "sotto could not read the provider's discovery document at this issuer, or it names another issuer. Check the issuer URL.",
	"admin.sso_err_client":    "Enter the client ID from your provider (no spaces).",
	"admin.sso_err_secret":    "Enter the client secret from your provider.",
}
