// Package agentproto is the wire protocol between the kongctl controller and
// kongctl-agent, the small binary the controller pushes to every node.
//
// The controller runs `<agent> serve` over one SSH session per node and
// run and sends each JSON Request in a frame on the agent's stdin; the
// agent answers each with a JSON Reply in a frame of the same id on its
// stdout (frame.go). `<agent> rpc` reads exactly one Request (unframed)
// and writes exactly one Reply, then exits 0 (a non-zero exit means the
// agent could not even produce a reply). Secrets (database and sudo passwords) travel only inside
// that stdin document, never in argv, the environment of the ssh command or
// a remote file; the agent replaces every secret it was given by
// [Redacted] in every string it returns.
//
// Compatibility: every Request carries ProtocolVersion. The agent refuses a
// request whose version differs from its own with an Error of code
// CodeProtocolMismatch (the reply still carries the agent's version). The
// envelope (Request, Reply) is decoded strictly: an unknown top-level field
// is an error, because the envelope only changes with ProtocolVersion.
// Params and results are decoded tolerantly: a field added to a params or
// result struct is ignored by an older peer.
//
// Durations travel as JSON numbers of nanoseconds (time.Duration), times as
// RFC 3339 strings (time.Time).
package agentproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ProtocolVersion is the version of this protocol. Bump it on any change
// to the envelope or to the meaning of an existing field. Version 2:
// requests travel framed over one long-lived session (frame.go).
const ProtocolVersion = 2

// Size limits of the documents on the wire.
const (
	// MaxRequestBytes bounds a Request (the agent reads no more).
	MaxRequestBytes = 1 << 20
	// MaxReplyBytes bounds a Reply (the controller reads no more).
	MaxReplyBytes = 16 << 20
	// TailBytes is how much of the end of a child's stdout and stderr a
	// Reply carries.
	TailBytes = 4096
)

// Redacted replaces every secret in what the agent returns.
const Redacted = "[REDACTED]"

// Op names an operation of the agent.
type Op string

// Database reports whether op is a database operation (named db.*): only
// the agent built for the database tools host carries those; a Kong
// node's agent answers them with CodeNoDBOps.
func (op Op) Database() bool { return strings.HasPrefix(string(op), "db.") }

// The operations. Their params and result types are listed in Ops.
const (
	OpHello          Op = "hello"
	OpFacts          Op = "facts"
	OpServiceStop    Op = "service.stop"
	OpServiceStart   Op = "service.start"
	OpHealth         Op = "health"
	OpPackageStage   Op = "package.stage"
	OpPackageInstall Op = "package.install"
	OpPackageHold    Op = "package.hold"
	OpMigrations     Op = "migrations"
	OpDBFingerprint  Op = "db.fingerprint"
	OpWriteSignature Op = "db.write_signature"
	OpFleetLock      Op = "db.fleet_lock"
	OpRunJournal     Op = "db.run_journal"
	OpBackup         Op = "db.backup"
	OpRestore        Op = "db.restore"
	OpVerifyRestore  Op = "db.verify_restore"
	OpMigrationLock  Op = "db.migration_lock"
	OpExec           Op = "exec"
	OpAttach         Op = "attach"
	OpHTTPGet        Op = "http.get"
	OpConfCheck      Op = "kong.conf_check"
	OpRowCounts      Op = "db.row_counts"
	OpLBHAProxy      Op = "lb.haproxy"
)

// OpInfo describes one operation: a zero value of its params and result.
type OpInfo struct {
	Params func() any // returns a pointer to a new zero params struct
	Result func() any // returns a pointer to a new zero result struct
}

// Ops lists every operation with its params and result types.
var Ops = map[Op]OpInfo{
	OpHello:          {func() any { return new(HelloParams) }, func() any { return new(HelloResult) }},
	OpFacts:          {func() any { return new(FactsParams) }, func() any { return new(Facts) }},
	OpServiceStop:    {func() any { return new(ServiceParams) }, func() any { return new(ServiceResult) }},
	OpServiceStart:   {func() any { return new(ServiceParams) }, func() any { return new(ServiceResult) }},
	OpHealth:         {func() any { return new(HealthParams) }, func() any { return new(HealthResult) }},
	OpPackageStage:   {func() any { return new(StageParams) }, func() any { return new(StageResult) }},
	OpPackageInstall: {func() any { return new(InstallParams) }, func() any { return new(InstallResult) }},
	OpPackageHold:    {func() any { return new(HoldParams) }, func() any { return new(HoldResult) }},
	OpMigrations:     {func() any { return new(MigrationsParams) }, func() any { return new(MigrationsResult) }},
	OpDBFingerprint:  {func() any { return new(FingerprintParams) }, func() any { return new(Fingerprint) }},
	OpWriteSignature: {func() any { return new(WriteSignatureParams) }, func() any { return new(WriteSignature) }},
	OpFleetLock:      {func() any { return new(FleetLockParams) }, func() any { return new(FleetLockResult) }},
	OpRunJournal:     {func() any { return new(RunJournalParams) }, func() any { return new(RunJournalResult) }},
	OpBackup:         {func() any { return new(BackupParams) }, func() any { return new(BackupResult) }},
	OpRestore:        {func() any { return new(RestoreParams) }, func() any { return new(RestoreResult) }},
	OpVerifyRestore:  {func() any { return new(VerifyRestoreParams) }, func() any { return new(VerifyRestoreResult) }},
	OpMigrationLock:  {func() any { return new(MigrationLockParams) }, func() any { return new(MigrationLockResult) }},
	OpExec:           {func() any { return new(ExecParams) }, func() any { return new(ExecResult) }},
	OpAttach:         {func() any { return new(AttachParams) }, func() any { return new(AttachResult) }},
	OpHTTPGet:        {func() any { return new(HTTPGetParams) }, func() any { return new(HTTPGetResult) }},
	OpConfCheck:      {func() any { return new(ConfCheckParams) }, func() any { return new(ConfCheckResult) }},
	OpRowCounts:      {func() any { return new(RowCountsParams) }, func() any { return new(RowCountsResult) }},
	OpLBHAProxy:      {func() any { return new(LBHAProxyParams) }, func() any { return new(LBHAProxyResult) }},
}

// Request is what the controller writes on the agent's stdin.
type Request struct {
	ProtocolVersion int             `json:"protocol_version"`
	Op              Op              `json:"op"`
	Params          json.RawMessage `json:"params,omitempty"`
	// Timeout bounds the operation on the agent (0 = the op's default).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Detach runs the op in a new session that survives the SSH connection;
	// the reply (a StepStatus result) comes back at once and the op's own
	// reply is recorded under StepID for OpAttach. Requires StepID.
	Detach bool `json:"detach,omitempty"`
	// StepID names a detached step. Starting the same StepID again never
	// runs it a second time.
	StepID string `json:"step_id,omitempty"`
	// AttachWait, with Detach, waits up to that long for the step in the
	// same call, as OpAttach does: the reply's result is then an
	// AttachResult, not a StepStatus. A step that ends quickly (on the
	// critical path of the downtime) costs one round trip, not two.
	AttachWait time.Duration `json:"attach_wait,omitempty"`
	// Redact lists extra secrets (e.g. the sudo password) the agent must
	// scrub from everything it returns, besides the secrets in Params.
	Redact []string `json:"redact,omitempty"`
	// AgentSHA256 is the SHA-256 of the agent binary the controller
	// delivered. An agent whose own executable hashes differently (replaced
	// or tampered with on the node) refuses the request with
	// CodeAgentMismatch and runs nothing.
	AgentSHA256 string `json:"agent_sha256,omitempty"`
}

// Reply is what the agent writes on its stdout.
type Reply struct {
	ProtocolVersion int    `json:"protocol_version"`
	AgentVersion    string `json:"agent_version"`
	Op              Op     `json:"op"`
	StepID          string `json:"step_id,omitempty"`
	// ExitStatus is the exit status of the main command the op ran (kong,
	// pg_dump, dpkg...), -1 when it ran none or was killed.
	ExitStatus int           `json:"exit_status"`
	Duration   time.Duration `json:"duration"`
	// StdoutTail and StderrTail are the last TailBytes of the output of
	// what the op ran, secrets redacted.
	StdoutTail string `json:"stdout_tail,omitempty"`
	StderrTail string `json:"stderr_tail,omitempty"`
	// Error is nil on success.
	Error  *Error          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// ErrorCode classifies an agent error. Callers branch on it, never on the
// message.
type ErrorCode string

// The error codes.
const (
	CodeNotFound         ErrorCode = "not_found"
	CodeInvalid          ErrorCode = "invalid_request"
	CodeKongFailed       ErrorCode = "kong_failed"
	CodeLockHeld         ErrorCode = "lock_held"
	CodeAborted          ErrorCode = "aborted" // "aborted: another node is performing database changes"
	CodeTimeout          ErrorCode = "timeout"
	CodeDBUnreachable    ErrorCode = "db_unreachable"
	CodeChecksumMismatch ErrorCode = "checksum_mismatch"
	CodeProtocolMismatch ErrorCode = "protocol_mismatch"
	CodeAgentMismatch    ErrorCode = "agent_mismatch" // the agent's own hash is not the one the controller delivered
	CodeCommandFailed    ErrorCode = "command_failed" // a non-kong command exited non-zero
	CodeUnhealthy        ErrorCode = "unhealthy"
	CodeUnparsed         ErrorCode = "unparsed_output" // kong printed something the parser does not know
	CodeStepLost         ErrorCode = "step_lost"       // a detached step's runner died without a reply
	CodeNoDBOps          ErrorCode = "no_db_ops"       // a node agent (built without the database operations) was asked for one
	CodeInternal         ErrorCode = "internal"
)

// Error is a typed agent error.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is(err, &Error{Code: c}) match any Error of code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errorf builds an *Error.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or "" when
// there is none.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Code
	}
	return ""
}

// NewRequest builds a request for op with params encoded.
func NewRequest(op Op, params any) (*Request, error) {
	req := &Request{ProtocolVersion: ProtocolVersion, Op: op}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("encode %s params: %w", op, err)
		}
		req.Params = b
	}
	return req, nil
}

// DecodeRequest reads one Request from r: at most MaxRequestBytes, strict
// envelope, nothing but whitespace after it. A request with another
// ProtocolVersion decodes as far as the version and returns an error of
// code CodeProtocolMismatch together with the partial request.
func DecodeRequest(r io.Reader) (*Request, error) {
	data, err := readLimited(r, MaxRequestBytes)
	if err != nil {
		return nil, Errorf(CodeInvalid, "read request: %v", err)
	}
	var probe struct {
		ProtocolVersion *int `json:"protocol_version"`
		Op              Op   `json:"op"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, Errorf(CodeInvalid, "decode request: %v", err)
	}
	if probe.ProtocolVersion == nil {
		return nil, Errorf(CodeInvalid, "decode request: protocol_version missing")
	}
	if *probe.ProtocolVersion != ProtocolVersion {
		return &Request{ProtocolVersion: *probe.ProtocolVersion, Op: probe.Op},
			Errorf(CodeProtocolMismatch, "agent speaks protocol %d, request is protocol %d", ProtocolVersion, *probe.ProtocolVersion)
	}
	var req Request
	if err := decodeStrict(data, &req); err != nil {
		return nil, Errorf(CodeInvalid, "decode request: %v", err)
	}
	if req.Op == "" {
		return nil, Errorf(CodeInvalid, "decode request: op missing")
	}
	if _, ok := Ops[req.Op]; !ok {
		return &req, Errorf(CodeInvalid, "unknown op %q", req.Op)
	}
	if req.Detach && req.StepID == "" {
		return &req, Errorf(CodeInvalid, "detach needs a step_id")
	}
	if req.StepID != "" && !ValidStepID(req.StepID) {
		return &req, Errorf(CodeInvalid, "invalid step_id %q (1-64 of [A-Za-z0-9._-], not starting with a dot)", req.StepID)
	}
	if req.Timeout < 0 {
		return &req, Errorf(CodeInvalid, "negative timeout")
	}
	return &req, nil
}

// DecodeParams decodes the params of req into the op's params type and
// returns a pointer to it. Unknown fields are ignored; malformed JSON or a
// field of the wrong type is an error.
func DecodeParams(req *Request) (any, error) {
	info, ok := Ops[req.Op]
	if !ok {
		return nil, Errorf(CodeInvalid, "unknown op %q", req.Op)
	}
	p := info.Params()
	if len(bytes.TrimSpace(req.Params)) == 0 || string(bytes.TrimSpace(req.Params)) == "null" {
		return p, nil
	}
	if err := json.Unmarshal(req.Params, p); err != nil {
		return nil, Errorf(CodeInvalid, "decode %s params: %v", req.Op, err)
	}
	if v, ok := p.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, Errorf(CodeInvalid, "%s params: %v", req.Op, err)
		}
	}
	return p, nil
}

// DecodeReply reads one Reply from r: at most MaxReplyBytes, strict
// envelope, nothing but whitespace after it.
func DecodeReply(r io.Reader) (*Reply, error) {
	data, err := readLimited(r, MaxReplyBytes)
	if err != nil {
		return nil, fmt.Errorf("read agent reply: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty agent reply")
	}
	var rep Reply
	if err := decodeStrict(data, &rep); err != nil {
		return nil, fmt.Errorf("decode agent reply: %w", err)
	}
	return &rep, nil
}

// DecodeResult decodes the result of a successful reply into T. A reply
// carrying an Error returns that *Error.
func DecodeResult[T any](rep *Reply) (T, error) {
	var v T
	if rep == nil {
		return v, errors.New("no reply")
	}
	if rep.Error != nil {
		return v, rep.Error
	}
	if len(rep.Result) == 0 {
		return v, fmt.Errorf("reply to %s carries no result", rep.Op)
	}
	if err := json.Unmarshal(rep.Result, &v); err != nil {
		return v, fmt.Errorf("decode %s result: %w", rep.Op, err)
	}
	return v, nil
}

// ValidStepID reports whether id can name a detached step (it becomes a
// file name on the node).
func ValidStepID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("document larger than %d bytes", limit)
	}
	return data, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}
