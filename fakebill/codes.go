package fakebill

// BDC error codes the fake answers with, and fakebill's own codes for what
// the real service has no code for. Messages are the service's, byte-exact.
const (
	CodeSystemError       = "BDC_1001"
	CodeUnknownError      = "BDC_1002"
	CodeBadCredentials    = "BDC_1101"
	CodeBadDevKey         = "BDC_1102"
	CodeInactiveDevKey    = "BDC_1103"
	CodeTermsNotAccepted  = "BDC_1104"
	CodeOrgLocked         = "BDC_1107"
	CodeMissingParameter  = "BDC_1108"
	CodeSessionInvalid    = "BDC_1109"
	CodeLoginLocked       = "BDC_1110"
	CodeLoginError        = "BDC_1113"
	CodeAPINotSupported   = "BDC_1121"
	CodeBadJSON           = "BDC_1122"
	CodeInvalidOrg        = "BDC_1123"
	CodeInvalidParameter  = "BDC_1129"
	CodeHourlyLimit       = "BDC_1144"
	CodeDevKeyMissing     = "BDC_1178"
	CodeConcurrencyLimit  = "BDC_1322"
	CodeUntrustedSession  = "BDC_1361"
	CodeMethodNotAllowed  = "FAKEBILL_METHOD_NOT_ALLOWED"
	CodeBodyTooLarge      = "FAKEBILL_BODY_TOO_LARGE"
	CodeSecretInURL       = "FAKEBILL_SECRET_IN_URL"
	CodeRequestUnreadable = "FAKEBILL_BAD_REQUEST"
)

// messages maps each code to its message. Templates with a parameter are
// filled by the caller with fmt.Sprintf.
var messages = map[string]string{
	CodeSystemError:       "System error occurred.",
	CodeUnknownError:      "Unknown error occurred.",
	CodeBadCredentials:    "User name and/or password do not match our records.",
	CodeBadDevKey:         "Developer key is invalid.",
	CodeInactiveDevKey:    "Developer key is inactive.",
	CodeTermsNotAccepted:  "Developer terms are not accepted.",
	CodeOrgLocked:         "Organization is locked out.",
	CodeMissingParameter:  "Missing parameter value for parameter: %s.",
	CodeSessionInvalid:    "Session is invalid.  Please log in.",
	CodeLoginLocked:       "Login is locked.",
	CodeLoginError:        "Login error.",
	CodeAPINotSupported:   "API not supported.",
	CodeBadJSON:           "Error Parsing Json Object. Please check your request.",
	CodeInvalidOrg:        "Invalid organization id.",
	CodeInvalidParameter:  "Invalid parameter value for parameter,value: %s, %s.",
	CodeHourlyLimit:       "Max number of allowed requests per hour reached: 20000.",
	CodeDevKeyMissing:     "Developer key must be specified.",
	CodeConcurrencyLimit:  "Max number of concurrent requests per organization reached.",
	CodeUntrustedSession:  "Untrusted session.",
	CodeMethodNotAllowed:  "Method not allowed: v2 calls are POST.",
	CodeBodyTooLarge:      "Request body is larger than the server accepts.",
	CodeRequestUnreadable: "Request could not be read.",
}

// Message returns the service's message for code, with any template
// placeholders left as they are, and "" for a code the fake does not know.
func Message(code string) string { return messages[code] }
