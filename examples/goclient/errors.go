package goclient

import "strings"

// APIError is a failed call: the service's error code and message, or a
// transport failure. Its text never carries a credential or session id.
type APIError struct {
	Op         string // the operation's path, "Crud/Read/Vendor.json"
	HTTPStatus int    // 0 when no answer arrived
	ErrorCode  string // "BDC_1109"; "" when the service gave none
	Message    string // the service's message, or what went wrong

	kind string // the kind when Code does not decide it
	err  error  // the underlying transport error, if any
}

// Error reports the operation, code and message.
func (e *APIError) Error() string {
	s := "goclient: " + e.Op + ": "
	if e.ErrorCode != "" {
		s += e.ErrorCode + ": "
	}
	s += e.Message
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Unwrap returns the underlying transport error, if any.
func (e *APIError) Unwrap() error { return e.err }

// Code returns the service's error code, such as "BDC_1109", or "".
func (e *APIError) Code() string { return e.ErrorCode }

// Kind classifies the error: [KindAuth], [KindSession], [KindRateLimit],
// [KindAPI], [KindOther] or [KindTransport]. The code decides when there is one.
func (e *APIError) Kind() string {
	if e.ErrorCode != "" {
		return KindOf(e.ErrorCode)
	}
	if e.kind != "" {
		return e.kind
	}
	return KindTransport
}

// KindOf returns the kind of an error code: by the table for BDC codes,
// [KindAPI] for any other BDC code, and [KindOther] for codes that are
// not the service's (a fake's or a proxy's).
func KindOf(code string) string {
	if !strings.HasPrefix(code, "BDC_") {
		return KindOther
	}
	switch code {
	case "BDC_1101", "BDC_1102", "BDC_1103", "BDC_1178":
		return KindAuth
	case codeSessionInvalid:
		return KindSession
	case "BDC_1144", "BDC_1322":
		return KindRateLimit
	}
	return KindAPI
}
