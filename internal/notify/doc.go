// Package notify holds the rules for the outbound notifications sotto
// sends over SMS, e-mail, push or the log: the notification kinds, a
// minimal template language with a fixed set of variables per kind, the
// shipped English and Spanish templates, validation of every value a
// template may carry, and the business associate agreement (BAA) gate of
// each channel. The SMS transport itself lives in notify/sms.
//
// A notification never carries message content, diagnoses, results or any
// name but the practice's: it says that something is waiting and links to
// it ("You have a new secure message from Lakeside Clinic. Read it here:
// <link>"). The template language enforces that by construction. A
// template is literal text with {{name}} placeholders; ParseTemplate
// refuses any name outside its kind's fixed set, so an administrator cannot
// write a template that asks for a patient's name, and Render inserts only
// the validated values of those names. There are no expressions, no
// escapes and no way for a value to be read as template syntax.
//
// Only appointment_reminder may carry anything beyond the PHI-free minimum:
// an appointment's date and time can identify a patient's care in some
// jurisdictions, so a template using {{date}} or {{time}} NeedsBAA, and
// Allowed refuses it on a channel without a BAA on file.
//
// Nothing here touches a database or the network, and errors never hold a
// rendered value: callers may log them freely. Rendered text, which holds
// links with tokens and one-time codes, must not be logged.
package notify
