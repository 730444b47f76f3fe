package audit

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"sotto"
)

// Code systems used in the FHIR export.
const (
	systemDCM         = "http://dicom.nema.org/resources/ontology/DCM"
	systemEventType   = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	systemRESTful     = "http://hl7.org/fhir/restful-interaction"
	systemEntityType  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	systemObjectRole  = "http://terminology.hl7.org/CodeSystem/object-role"
	systemSourceType  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	systemRoleType    = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
	systemResource    = "http://hl7.org/fhir/resource-types"
	systemBALPEntity  = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
	systemSottoAction = "urn:sotto:audit-action"
	systemSottoRole   = "urn:sotto:role"
	urlSottoChain     = "urn:sotto:audit-chain"
)

// WriteFHIRBundle writes events as a FHIR R4 Bundle of type "collection"
// holding one AuditEvent resource per entry, shaped after IHE Basic Audit
// Log Patterns (BALP) without claiming its profiles:
//
//   - type: DICOM 110114 User Authentication (auth.*), 110112 Query
//     (searches), 110106 Export, 110110 Patient Record (patient.*), 110113
//     Security Alert (break-glass, permission, key and config changes),
//     110101 Audit Log Used, 110100 Application Activity; otherwise
//     audit-event-type "rest" with a restful-interaction subtype.
//   - subtype: always sotto's action under urn:sotto:audit-action (plus
//     DICOM 110122 Login / 110123 Logout for sign-in and sign-out).
//   - action C/R/U/D/E from the action's verb; recorded in RFC 3339 UTC
//     with microseconds; outcome "0" for success and "4" (minor failure)
//     for failure and denied, told apart by outcomeDesc.
//   - agent: the actor (Practitioner/, Patient/ or RelatedPerson/ + user
//     id by role, Device/sotto for the system), requestor, network address.
//   - source: observer Device/sotto (an application server), site orgName.
//   - entity: the target, the patient (role Patient) and the X-Request-Id.
//   - extension urn:sotto:audit-chain: org, seq, prevHash, hash (hex), so
//     entries can be matched to the verified chain.
//
// The user agent is not exported (CSV has it). orgName must be the
// organization's display name, never PHI. Callers: export handlers and
// command. Errors: those of w, unwrapped.
func WriteFHIRBundle(w io.Writer, events []*sotto.AuditEvent, orgName string) error {
	b := fhirBundle{ResourceType: "Bundle", Type: "collection"}
	for _, e := range events {
		b.Entry = append(b.Entry, fhirEntry{FullURL: "urn:uuid:" + e.ID, Resource: fhirEvent(e, orgName)})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

type fhirBundle struct {
	ResourceType string      `json:"resourceType"`
	Type         string      `json:"type"`
	Entry        []fhirEntry `json:"entry,omitempty"`
}

type fhirEntry struct {
	FullURL  string         `json:"fullUrl"`
	Resource fhirAuditEvent `json:"resource"`
}

type fhirAuditEvent struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id,omitempty"`
	Extension    []fhirExtension `json:"extension,omitempty"`
	Type         coding          `json:"type"`
	Subtype      []coding        `json:"subtype"`
	Action       string          `json:"action"`
	Recorded     string          `json:"recorded"`
	Outcome      string          `json:"outcome"`
	OutcomeDesc  string          `json:"outcomeDesc,omitempty"`
	Agent        []fhirAgent     `json:"agent"`
	Source       fhirSource      `json:"source"`
	Entity       []fhirEntity    `json:"entity,omitempty"`
}

type fhirExtension struct {
	URL         string          `json:"url"`
	ValueString string          `json:"valueString,omitempty"`
	Extension   []fhirExtension `json:"extension,omitempty"`
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding"`
}

type identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value"`
}

type reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type fhirAgent struct {
	Type      *concept     `json:"type,omitempty"`
	Role      []concept    `json:"role,omitempty"`
	Who       *reference   `json:"who,omitempty"`
	Requestor bool         `json:"requestor"`
	Network   *fhirNetwork `json:"network,omitempty"`
}

type fhirNetwork struct {
	Address string `json:"address"`
	Type    string `json:"type"` // "2": IP address
}

type fhirSource struct {
	Site     string    `json:"site,omitempty"`
	Observer reference `json:"observer"`
	Type     []coding  `json:"type"`
}

type fhirEntity struct {
	What *reference `json:"what,omitempty"`
	Type *coding    `json:"type,omitempty"`
	Role *coding    `json:"role,omitempty"`
}

func fhirEvent(e *sotto.AuditEvent, orgName string) fhirAuditEvent {
	verb := e.Action[strings.LastIndexByte(e.Action, '.')+1:]
	act := fhirAction(verb)
	typ, sub := fhirType(e.Action, verb, act)
	r := fhirAuditEvent{
		ResourceType: "AuditEvent",
		ID:           e.ID,
		Extension: []fhirExtension{{URL: urlSottoChain, Extension: []fhirExtension{
			{URL: "org", ValueString: e.OrgID},
			{URL: "seq", ValueString: strconv.FormatInt(e.Seq, 10)},
			{URL: "prevHash", ValueString: hex.EncodeToString(e.PrevHash)},
			{URL: "hash", ValueString: hex.EncodeToString(e.Hash)},
		}}},
		Type:     typ,
		Subtype:  append(sub, coding{System: systemSottoAction, Code: e.Action}),
		Action:   act,
		Recorded: e.At.UTC().Format(csvTime),
		Outcome:  "0",
		Agent:    []fhirAgent{fhirActor(e)},
		Source: fhirSource{
			Site:     orgName,
			Observer: reference{Reference: "Device/sotto", Display: "sotto"},
			Type:     []coding{{System: systemSourceType, Code: "4", Display: "Application Server"}},
		},
	}
	if e.Outcome != sotto.AuditSuccess {
		r.Outcome, r.OutcomeDesc = "4", e.Outcome
	}
	if e.TargetType != "" || e.TargetID != "" {
		r.Entity = append(r.Entity, fhirTarget(e.TargetType, e.TargetID))
	}
	if e.PatientID != "" && !(e.TargetType == "patient" && e.TargetID == e.PatientID) {
		r.Entity = append(r.Entity, fhirTarget("patient", e.PatientID))
	}
	if e.RequestID != "" {
		r.Entity = append(r.Entity, fhirEntity{
			What: &reference{Identifier: &identifier{Value: e.RequestID}},
			Type: &coding{System: systemBALPEntity, Code: "XrequestId", Display: "X-Request-Id"},
		})
	}
	return r
}

// fhirAction maps an action's verb to AuditEvent.action.
func fhirAction(verb string) string {
	switch verb {
	case "create", "upload", "mfa_enroll":
		return "C"
	case "view", "read", "download":
		return "R"
	case "update", "member", "change", "disable", "mfa_reset", "password_change", "rotate":
		return "U"
	case "shred":
		return "D"
	}
	return "E" // sign-in, send, deliver, search, export, break-glass, ...
}

// fhirType maps an action to AuditEvent.type and extra subtypes.
func fhirType(action, verb, act string) (coding, []coding) {
	dcm := func(code, display string) coding { return coding{System: systemDCM, Code: code, Display: display} }
	object, _, _ := strings.Cut(action, ".")
	switch {
	case object == "auth":
		switch action {
		case sotto.AuditSignIn, sotto.AuditSignInFailed:
			return dcm("110114", "User Authentication"), []coding{dcm("110122", "Login")}
		case sotto.AuditSignOut, sotto.AuditSessionExpired:
			return dcm("110114", "User Authentication"), []coding{dcm("110123", "Logout")}
		}
		return dcm("110114", "User Authentication"), nil
	case verb == "search":
		return dcm("110112", "Query"), []coding{{System: systemRESTful, Code: "search", Display: "search"}}
	case action == sotto.AuditExport:
		return dcm("110106", "Export"), nil
	case object == "audit":
		return dcm("110101", "Audit Log Used"), nil
	case object == "access" || object == "permission" || object == "key" || object == "config":
		return dcm("110113", "Security Alert"), nil
	case object == "system":
		return dcm("110100", "Application Activity"), nil
	case object == "patient":
		return dcm("110110", "Patient Record"), restful(act)
	}
	return coding{System: systemEventType, Code: "rest", Display: "RESTful Operation"}, restful(act)
}

func restful(act string) []coding {
	code := map[string]string{"C": "create", "R": "read", "U": "update", "D": "delete"}[act]
	if code == "" {
		return nil
	}
	return []coding{{System: systemRESTful, Code: code, Display: code}}
}

// fhirActor describes who acted.
func fhirActor(e *sotto.AuditEvent) fhirAgent {
	a := fhirAgent{
		Role:      []concept{{Coding: []coding{{System: systemSottoRole, Code: e.ActorRole}}}},
		Requestor: true,
	}
	if e.SourceIP != "" {
		a.Network = &fhirNetwork{Address: e.SourceIP, Type: "2"}
	}
	human := &concept{Coding: []coding{{System: systemRoleType, Code: "humanuser", Display: "human user"}}}
	switch role := sotto.Role(e.ActorRole); {
	case e.ActorRole == sotto.AuditRoleSystem:
		a.Type = &concept{Coding: []coding{{System: systemDCM, Code: "110150", Display: "Application"}}}
		a.Who = &reference{Reference: "Device/sotto", Display: "sotto"}
	case e.ActorID == "":
		a.Type = human
		a.Who = &reference{Display: e.ActorRole}
	case role.IsStaff():
		a.Type, a.Who = human, &reference{Reference: "Practitioner/" + e.ActorID}
	case role == sotto.RolePatient:
		a.Type, a.Who = human, &reference{Reference: "Patient/" + e.ActorID}
	case role == sotto.RoleProxy:
		a.Type, a.Who = human, &reference{Reference: "RelatedPerson/" + e.ActorID}
	default:
		a.Type, a.Who = human, &reference{Identifier: &identifier{System: "urn:sotto:user", Value: e.ActorID}}
	}
	return a
}

// fhirTarget describes an object acted on: a FHIR reference when sotto's
// object type has a FHIR counterpart, an identifier otherwise. Without an
// id (a search) it names only the kind of object, in the role of a query.
func fhirTarget(typ, id string) fhirEntity {
	res := map[string]string{
		"patient": "Patient", "org": "Organization", "message": "Communication",
		"attachment": "Binary", "appointment": "Appointment",
	}[typ]
	switch {
	case id == "":
		ent := fhirEntity{
			Type: &coding{System: systemEntityType, Code: "2", Display: "System Object"},
			Role: &coding{System: systemObjectRole, Code: "24", Display: "Query"},
		}
		if res != "" {
			ent.Type = &coding{System: systemResource, Code: res, Display: res}
		}
		return ent
	case res == "Patient":
		return fhirEntity{
			What: &reference{Reference: "Patient/" + id},
			Type: &coding{System: systemEntityType, Code: "1", Display: "Person"},
			Role: &coding{System: systemObjectRole, Code: "1", Display: "Patient"},
		}
	case res != "":
		return fhirEntity{
			What: &reference{Reference: res + "/" + id},
			Type: &coding{System: systemResource, Code: res, Display: res},
			Role: &coding{System: systemObjectRole, Code: "4", Display: "Domain Resource"},
		}
	}
	return fhirEntity{
		What: &reference{Identifier: &identifier{System: "urn:sotto:" + typ, Value: id}},
		Type: &coding{System: systemEntityType, Code: "2", Display: "System Object"},
	}
}
