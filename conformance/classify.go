package conformance

import (
	"errors"
	"regexp"
)

// Error kinds, as in the adapter protocol.
const (
	kindAuth      = "auth"
	kindSession   = "session"
	kindAPI       = "api"
	kindRateLimit = "rate_limit"
	kindTransport = "transport"
	kindOther     = "other"
)

var bdcCode = regexp.MustCompile(`BDC_\d{4}`)

// errorCode returns the BDC code of err: from a Code() string method
// anywhere in its chain, else the first BDC_nnnn in its text, else "".
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	var c interface{ Code() string }
	if errors.As(err, &c) {
		if code := c.Code(); code != "" {
			return code
		}
	}
	return bdcCode.FindString(err.Error())
}

// errorKind returns the kind of err. The code decides when there is one,
// so a client that labels BDC_1109 "auth" is judged by its code; without a
// code, a Kind() string method decides, else the kind is "other".
func errorKind(err error) string {
	if err == nil {
		return ""
	}
	if code := errorCode(err); code != "" {
		return kindOf(code)
	}
	var k interface{ Kind() string }
	if errors.As(err, &k) && k.Kind() != "" {
		return k.Kind()
	}
	return kindOther
}

// kindOf maps a BDC code to its kind.
func kindOf(code string) string {
	switch code {
	case "BDC_1101", "BDC_1102", "BDC_1103", "BDC_1178":
		return kindAuth
	case "BDC_1109":
		return kindSession
	case "BDC_1144", "BDC_1322":
		return kindRateLimit
	}
	return kindAPI
}
