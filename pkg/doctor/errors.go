package doctor

import (
	"errors"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// code is the AWS error code of err ("" when it has none). The doctor acts
// on codes, never on messages (except CloudFormation's, below).
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func hasCode(err error, codes ...string) bool {
	c := code(err)
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// httpStatus is the HTTP status of err's response (0 when there was none).
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// accessDenied reports whether err is a refusal by IAM (a missing
// permission, an SCP, a trust policy).
func accessDenied(err error) bool {
	return hasCode(err, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError") ||
		httpStatus(err) == http.StatusForbidden
}

// notImplemented reports whether the endpoint does not know the operation
// at all: an emulator that lacks it (moto answers 404 or 501 without an
// error code).
func notImplemented(err error) bool {
	s := httpStatus(err)
	return (s == http.StatusNotFound || s == http.StatusNotImplemented) && code(err) == "" ||
		hasCode(err, "NotImplemented", "InternalFailure") && s == http.StatusNotImplemented
}
