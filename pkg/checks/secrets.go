package checks

import lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

// dropFunctionSecrets clears the fields of a listed function that hold what
// its owner configured for the code to read at run time, where secrets
// live: lambda:ListFunctions returns every function's environment
// variables in clear (database passwords, API keys), and a container
// image's command and entry point can carry the same as arguments. No check
// reads them, so the collector never holds them past the page that brought
// them: the inventory, the checks, the records and the findings see
// functions without them. docs/data-handling.md lists what is kept of each
// API and why.
//
// It replaces the pointers rather than clearing what they point to, which
// the caller may share (a simulator serving its world, a test's fake).
func dropFunctionSecrets(f *lambdatypes.FunctionConfiguration) {
	f.Environment = nil         // Variables, and Error (whose message can quote them)
	f.ImageConfigResponse = nil // Command, EntryPoint, WorkingDirectory, Error
}
