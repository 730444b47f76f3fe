package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// state is what --state keeps between runs against the same server, so
// that a second run skips the slow setup (every patient account costs an
// argon2id hash on the server). It holds only invented load-test
// accounts; the file is still written 0600 since its tokens sign in.
type state struct {
	mu             sync.Mutex
	URL            string         `json:"url"`
	StaffEmail     string         `json:"staff_email"`
	RunID          string         `json:"run_id"` // in every MRN, e-mail address and idempotency key of this state
	StaffToken     string         `json:"staff_token,omitempty"`
	DepartmentID   string         `json:"department_id,omitempty"`
	ProbePatientID string         `json:"probe_patient_id,omitempty"`
	Patients       []*patientInfo `json:"patients"`
}

// patientInfo is one simulated patient: their record, portal account and
// conversation.
type patientInfo struct {
	Index          int    `json:"index"`
	PatientID      string `json:"patient_id"`
	MRN            string `json:"mrn"`
	Email          string `json:"email"`
	Password       string `json:"password"`
	BirthDate      string `json:"birth_date"`
	Token          string `json:"token"`
	ConversationID string `json:"conversation_id"`
}

// ready reports whether p completed setup.
func (p *patientInfo) ready() bool {
	return p != nil && p.Token != "" && p.ConversationID != ""
}

// newRunID returns 8 random hex digits.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// loadState reads path, or starts a new state when path is empty or does
// not exist yet. A state made for another server or staff account is
// set aside (a fresh one is started) with a note on warn.
func loadState(path, url, staffEmail string, warn func(string)) (*state, error) {
	fresh := &state{URL: url, StaffEmail: staffEmail, RunID: newRunID()}
	if path == "" {
		return fresh, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("--state %s: not a sotto-load state file: %w", path, err)
	}
	if st.URL != url || st.StaffEmail != staffEmail || st.RunID == "" {
		warn(fmt.Sprintf("state file %s belongs to %s as %s: starting a new one", path, st.URL, st.StaffEmail))
		return fresh, nil
	}
	for i, p := range st.Patients {
		if p != nil && p.Index != i {
			return nil, fmt.Errorf("--state %s: patient %d is stored at position %d", path, p.Index, i)
		}
	}
	return &st, nil
}

// patient returns the stored patient i, or nil.
func (st *state) patient(i int) *patientInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	if i < len(st.Patients) {
		return st.Patients[i]
	}
	return nil
}

// setPatient stores patient p at its index.
func (st *state) setPatient(p *patientInfo) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for len(st.Patients) <= p.Index {
		st.Patients = append(st.Patients, nil)
	}
	st.Patients[p.Index] = p
}

// save writes the state atomically (temp file and rename), mode 0600.
func (st *state) save(path string) error {
	if path == "" {
		return nil
	}
	st.mu.Lock()
	b, err := json.MarshalIndent(st, "", " ")
	st.mu.Unlock()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sotto-load-state-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}
