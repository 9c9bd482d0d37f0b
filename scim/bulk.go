package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// This file serves POST /Bulk (RFC 7644 section 3.7). Every operation is
// served by serveResource as the single request it stands for, so the
// rules of a write (validation, uniqueness, seats, If-Match, the audit
// entry, its own transaction) are written once.

// The URNs of the Bulk messages.
const (
	bulkRequestURN  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseURN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	patchOpURN      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// The defaults of Options.MaxBulkOperations and
// Options.MaxBulkPayloadBytes.
const (
	defaultMaxBulkOperations   = 1000
	defaultMaxBulkPayloadBytes = 1 << 20
)

// bulkRefPrefix starts a reference to the resource another operation of
// the same request creates (RFC 7644 section 3.7.2).
const bulkRefPrefix = "bulkId:"

type bulkRequest struct {
	Schemas      []string        `json:"schemas"`
	FailOnErrors *int            `json:"failOnErrors"`
	Operations   []bulkOperation `json:"Operations"`
}

type bulkOperation struct {
	Method  string          `json:"method"`
	BulkID  *string         `json:"bulkId"`
	Version string          `json:"version"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data"`
}

// bulkResult is one operation's entry in the BulkResponse.
type bulkResult struct {
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId,omitempty"`
	Version  string          `json:"version,omitempty"`
	Location string          `json:"location,omitempty"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

// bulkJob is the state of one Bulk request while its operations run.
type bulkJob struct {
	ops []bulkOperation
	// refs are the bulkIds each operation references, in its path or
	// its data.
	refs [][]string
	// declared maps the bulkId of each POST to its operation's index.
	declared map[string]int
	// created maps the bulkId of each POST that succeeded to the new id;
	// failed holds those of the POSTs that failed.
	created map[string]string
	failed  map[string]bool
	// circular holds the bulkIds of the POSTs that failed because their
	// references were circular.
	circular map[string]bool
	done     []bool
	// data is each operation's data as it is to be sent: a POST caught
	// in a cycle is sent without the values that make it (see
	// breakCycle), and completed by the PATCH body in later; partial
	// holds the answer to that POST until then.
	data    [][]byte
	later   [][]byte
	partial []*bulkResult
}

// serveBulk answers a Bulk request: the body is read within its own limit
// (MaxBulkPayloadBytes) and checked as a whole, then the operations run
// one by one, each in its own transaction, an operation whose references
// are not yet resolved waiting for the ones that resolve them. The answer
// lists the operations run, in the order they ran.
func (s *Server) serveBulk(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeError(w, r, "Bulk", &requestError{Status: http.StatusMethodNotAllowed, Detail: "A Bulk request is a POST."})
		return
	}
	job, failOnErrors, err := s.parseBulk(r)
	if err != nil {
		s.writeError(w, r, "Bulk", err)
		return
	}
	var results []bulkResult
	errs := 0
	for errs < failOnErrors && r.Context().Err() == nil {
		i, ready, ok := job.next()
		if !ok {
			break
		}
		if !ready {
			if c, ok := job.breakCycle(); ok {
				i = c
			}
		}
		res, final := s.runBulkOperation(r, job, i)
		if !final {
			continue
		}
		results = append(results, res)
		if res.Status[0] != '2' {
			errs++
		}
	}
	if results == nil {
		results = []bulkResult{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"schemas": []string{bulkResponseURN}, "Operations": results})
}

// parseBulk reads and checks a Bulk request as a whole: 413 over the
// payload or operation limits, 400 invalidSyntax for a body that is not
// a BulkRequest, 400 invalidValue for a bulkId used twice or a
// failOnErrors below 1. It returns the job and how many errors stop it.
func (s *Server) parseBulk(r *http.Request) (*bulkJob, int, error) {
	limit := s.opts.MaxBulkPayloadBytes
	tooBig := &requestError{Status: http.StatusRequestEntityTooLarge,
		Detail: fmt.Sprintf("The size of the Bulk request exceeds maxPayloadSize (%d bytes).", limit)}
	body, err := readBody(r, limit)
	var re *requestError
	if errors.As(err, &re) && re.Status == http.StatusRequestEntityTooLarge {
		return nil, 0, tooBig
	}
	if err != nil {
		return nil, 0, err
	}
	var req bulkRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, 0, errInvalidSyntax("The request body is not a BulkRequest: %s.", jsonProblem(err))
	}
	if !slices.Contains(req.Schemas, bulkRequestURN) {
		return nil, 0, errInvalidSyntax("The request's schemas must name %s.", bulkRequestURN)
	}
	if len(req.Operations) == 0 {
		return nil, 0, errInvalidValue("The Bulk request has no Operations.")
	}
	if n := len(req.Operations); n > s.opts.MaxBulkOperations {
		return nil, 0, &requestError{Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("The Bulk request has %d operations, more than maxOperations (%d).", n, s.opts.MaxBulkOperations)}
	}
	failOnErrors := len(req.Operations) + 1 // never reached: every operation runs
	if req.FailOnErrors != nil {
		if *req.FailOnErrors < 1 {
			return nil, 0, errInvalidValue("failOnErrors must be at least 1.")
		}
		failOnErrors = *req.FailOnErrors
	}
	job := &bulkJob{ops: req.Operations, refs: make([][]string, len(req.Operations)), declared: map[string]int{},
		created: map[string]string{}, failed: map[string]bool{}, circular: map[string]bool{}, done: make([]bool, len(req.Operations)),
		data: make([][]byte, len(req.Operations)), later: make([][]byte, len(req.Operations)), partial: make([]*bulkResult, len(req.Operations))}
	seen := map[string]bool{}
	for i, op := range req.Operations {
		if op.BulkID != nil {
			if seen[*op.BulkID] {
				return nil, 0, errInvalidValue("The bulkId %q is used by more than one operation.", *op.BulkID)
			}
			seen[*op.BulkID] = true
			if strings.EqualFold(op.Method, http.MethodPost) {
				job.declared[*op.BulkID] = i
			}
		}
		job.refs[i] = bulkRefs(op.Path, op.Data)
		job.data[i] = op.Data
	}
	return job, failOnErrors, nil
}

// jsonProblem describes a JSON decoding error without echoing the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s must be a JSON %s", te.Field, te.Type.Kind())
	}
	return "malformed JSON"
}

// next returns the first operation not yet run, in request order, whose
// references are all settled (resolved, failed or unknown), and true;
// with none, the first not yet run (its references are circular, or wait
// on circular ones) and false. ok false: every operation ran.
func (j *bulkJob) next() (i int, ready, ok bool) {
	first := -1
	for i := range j.ops {
		if j.done[i] {
			continue
		}
		if first < 0 {
			first = i
		}
		settled := true
		for _, ref := range j.refs[i] {
			_, known := j.declared[ref]
			_, ok := j.created[ref]
			if known && !ok && !j.failed[ref] {
				settled = false
				break
			}
		}
		if settled {
			return i, true, true
		}
	}
	return first, false, first >= 0
}

// breakCycle picks, when no operation is ready, the first POST whose only
// unresolved references are the values of elements of multi-valued
// attributes (group members) or of complex attributes (the enterprise
// manager), in the core schema or an extension: its data loses those
// values, to be added by a PATCH once their resources exist, so that the
// POST can run now (RFC 7644 section 3.7.1: a server must try to resolve
// circular references). false: no operation can be broken out.
func (j *bulkJob) breakCycle() (int, bool) {
	for i, op := range j.ops {
		if j.done[i] || j.later[i] != nil || !strings.EqualFold(op.Method, http.MethodPost) {
			continue
		}
		unresolved := func(ref string) bool {
			_, known := j.declared[ref]
			_, ok := j.created[ref]
			return known && !ok && !j.failed[ref]
		}
		stripped, patch, ok := stripRefs(j.data[i], unresolved)
		if !ok {
			continue
		}
		j.data[i], j.later[i], j.refs[i] = stripped, patch, bulkRefs("", stripped)
		return i, true
	}
	return 0, false
}

// stripRefs returns data without the values that reference what
// unresolved reports, and the PATCH body that adds them back. false:
// there are none, or data holds an unresolved reference elsewhere.
func stripRefs(data []byte, unresolved func(string) bool) (stripped, patch []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil || m == nil {
		return nil, nil, false
	}
	isRef := func(v any) bool {
		obj, _ := v.(map[string]any)
		s, _ := obj["value"].(string)
		ref, isRef := strings.CutPrefix(s, bulkRefPrefix)
		return isRef && unresolved(ref)
	}
	var ops []any
	var strip func(attrs map[string]any, prefix string)
	strip = func(attrs map[string]any, prefix string) {
		for name, v := range attrs {
			switch t := v.(type) {
			case []any:
				var keep, moved []any
				for _, e := range t {
					if isRef(e) {
						moved = append(moved, e)
					} else {
						keep = append(keep, e)
					}
				}
				if moved != nil {
					attrs[name] = keep
					if keep == nil {
						delete(attrs, name)
					}
					ops = append(ops, map[string]any{"op": "add", "path": prefix + name, "value": moved})
				}
			case map[string]any:
				if isRef(t) {
					delete(attrs, name)
					ops = append(ops, map[string]any{"op": "add", "path": prefix + name, "value": t})
				} else if prefix == "" && strings.Contains(name, ":") {
					strip(t, name+":")
				}
			}
		}
	}
	strip(m, "")
	if ops == nil {
		return nil, nil, false
	}
	left := false
	walkStrings(m, func(s string) string {
		for _, ref := range refsIn(s) {
			left = left || unresolved(ref)
		}
		return s
	})
	if left {
		return nil, nil, false
	}
	return mustMarshal(m), mustMarshal(map[string]any{"schemas": []string{patchOpURN}, "Operations": ops}), true
}

// runBulkOperation runs operation i and returns its result. The
// operation's references are resolved first: one that names no POST of
// the request, a POST that failed, or (because next found nothing ready)
// one that is circular answers 409 invalidValue without running.
//
// A POST broken out of a cycle (see breakCycle) runs in two steps: the
// POST without the circular values, which reports nothing (final false)
// unless it fails, then the PATCH that adds them, reported as the POST
// (201, its location, the version after the PATCH) or as the PATCH's
// error.
func (s *Server) runBulkOperation(r *http.Request, j *bulkJob, i int) (res bulkResult, final bool) {
	j.done[i] = true
	op := j.ops[i]
	res = bulkResult{Method: strings.ToUpper(op.Method)}
	if op.BulkID != nil {
		res.BulkID = *op.BulkID
	}
	fail := func(err error) (bulkResult, bool) {
		se := toSCIMError(r.Context(), s.users.Catalog, "Resource", err)
		res.Status = fmt.Sprint(se.Status)
		res.Response = mustMarshal(se)
		if post := j.partial[i]; post != nil {
			res.Location = post.Location // created, not completed
		} else if res.BulkID != "" && res.Method == http.MethodPost {
			j.failed[res.BulkID] = true
		}
		return res, true
	}
	for _, ref := range j.refs[i] {
		_, known := j.declared[ref]
		_, ok := j.created[ref]
		switch {
		case !known:
			return fail(newRequestError(http.StatusConflict, "invalidValue", "No POST operation of this request has the bulkId %q.", ref))
		case j.circular[ref] || !ok && !j.failed[ref]:
			if res.Method == http.MethodPost && res.BulkID != "" {
				j.circular[res.BulkID] = true
			}
			return fail(newRequestError(http.StatusConflict, "invalidValue", "The reference to the bulkId %q is circular and cannot be resolved.", ref))
		case j.failed[ref]:
			return fail(newRequestError(http.StatusConflict, "invalidValue", "The operation with the bulkId %q failed, so the reference to it cannot be resolved.", ref))
		}
	}
	path, data, method, version := "/"+strings.TrimPrefix(op.Path, "/"), j.data[i], res.Method, op.Version
	if post := j.partial[i]; post != nil {
		path, data, method, version = strings.TrimPrefix(post.Location, s.base(r)), j.later[i], http.MethodPatch, ""
	}
	if len(j.refs[i]) > 0 {
		path = resolvePath(path, j.created)
		var err error
		if data, err = resolveDataRefs(data, j.created); err != nil {
			return fail(err)
		}
	}
	if err := s.checkBulkOperation(method, path, op, data); err != nil {
		return fail(err)
	}
	sub, err := http.NewRequestWithContext(r.Context(), method, "/", bytes.NewReader(data))
	if err != nil {
		return fail(errInvalidValue("The operation's path %q is not valid.", op.Path))
	}
	sub.URL.Path = path
	sub.Host, sub.TLS, sub.RemoteAddr = r.Host, r.TLS, r.RemoteAddr
	sub.Header.Set("Content-Type", ContentType)
	if version != "" {
		sub.Header.Set("If-Match", version)
	}
	rec := &bufferedWriter{header: http.Header{}}
	s.serveResource(rec, sub, path, data)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	res.Status = fmt.Sprint(status)
	if res.Method != http.MethodPost || j.partial[i] != nil {
		res.Location = s.base(r) + path
	}
	if status >= 300 {
		res.Response = json.RawMessage(rec.buf.Bytes())
		if res.Method == http.MethodPost && res.BulkID != "" && j.partial[i] == nil {
			j.failed[res.BulkID] = true
		}
		return res, true
	}
	if j.partial[i] != nil {
		res.Status = "201"
	}
	var written struct {
		ID   string `json:"id"`
		Meta struct {
			Location string `json:"location"`
			Version  string `json:"version"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(rec.buf.Bytes(), &written)
	res.Version = rec.header.Get("Etag")
	if res.Version == "" {
		res.Version = written.Meta.Version
	}
	if loc := rec.header.Get("Location"); loc != "" {
		res.Location = loc
	} else if written.Meta.Location != "" {
		res.Location = written.Meta.Location
	}
	if res.Method == http.MethodPost && res.BulkID != "" && j.partial[i] == nil {
		j.created[res.BulkID] = written.ID
	}
	if j.later[i] != nil && j.partial[i] == nil {
		// The POST of a broken cycle: the PATCH is still to run.
		j.partial[i], j.done[i], j.refs[i] = &res, false, bulkRefs("", j.later[i])
		return res, false
	}
	return res, true
}

// checkBulkOperation refuses an operation that is not a write of one
// User or Group as RFC 7644 section 3.7 describes it: a POST to /Users or
// /Groups with a bulkId, or a PUT, PATCH or DELETE of /Users/{id} or
// /Groups/{id}, with data (a JSON object) unless it is a DELETE, and data
// no larger than a single request may be.
func (s *Server) checkBulkOperation(method, path string, op bulkOperation, data []byte) error {
	endpoint, id, hasID := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	endpoint = "/" + endpoint
	if endpoint != s.users.Endpoint && endpoint != s.groups.Endpoint {
		return errInvalidValue("The operation's path %q names neither /Users nor /Groups.", op.Path)
	}
	switch method {
	case http.MethodPost:
		if hasID {
			return errInvalidValue("A POST operation's path is /Users or /Groups, not %q.", op.Path)
		}
		if op.BulkID == nil || *op.BulkID == "" {
			return errInvalidSyntax("A POST operation needs a bulkId.")
		}
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		if !hasID || id == "" || strings.ContainsAny(id, "/?#") {
			return errInvalidValue("A %s operation's path names one resource, /Users/{id} or /Groups/{id}, not %q.", method, op.Path)
		}
	default:
		return errInvalidValue("The operation's method %q is none of POST, PUT, PATCH and DELETE.", op.Method)
	}
	if method == http.MethodDelete {
		return nil
	}
	if int64(len(data)) > s.opts.MaxBodyBytes {
		return tooLarge(s.opts.MaxBodyBytes)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil || obj == nil {
		return errInvalidSyntax("A %s operation needs data, a JSON object.", method)
	}
	return nil
}

// bulkRefs returns the bulkIds an operation references, each once: its
// path's id ("/Groups/bulkId:g"), and in its data every string that is a
// reference ("bulkId:u") or holds one in quotes (a PATCH path's filter,
// members[value eq "bulkId:u"]).
func bulkRefs(path string, data []byte) []string {
	var refs []string
	add := func(ref string) {
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	if _, id, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/"); ok {
		if ref, ok := strings.CutPrefix(id, bulkRefPrefix); ok {
			add(ref)
		}
	}
	if !bytes.Contains(data, []byte(bulkRefPrefix)) {
		return refs
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return refs
	}
	walkStrings(v, func(s string) string {
		for _, ref := range refsIn(s) {
			add(ref)
		}
		return s
	})
	return refs
}

// refsIn returns the references a string of data makes: the whole string
// ("bulkId:u"), or each quoted one inside it.
func refsIn(s string) []string {
	if ref, ok := strings.CutPrefix(s, bulkRefPrefix); ok {
		return []string{ref}
	}
	var refs []string
	for rest := s; ; {
		i := strings.Index(rest, `"`+bulkRefPrefix)
		if i < 0 {
			return refs
		}
		rest = rest[i+1+len(bulkRefPrefix):]
		end := strings.IndexByte(rest, '"')
		if end < 0 {
			return refs
		}
		refs = append(refs, rest[:end])
		rest = rest[end+1:]
	}
}

// resolvePath returns an operation's path with the reference its id
// makes ("/Groups/bulkId:g") replaced by the id created.
func resolvePath(path string, created map[string]string) string {
	endpoint, id, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if ref, isRef := strings.CutPrefix(id, bulkRefPrefix); ok && isRef {
		return "/" + endpoint + "/" + created[ref]
	}
	return path
}

// resolveDataRefs returns data with its references replaced by the ids
// created.
func resolveDataRefs(data []byte, created map[string]string) ([]byte, error) {
	if !bytes.Contains(data, []byte(bulkRefPrefix)) {
		return data, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errInvalidSyntax("The operation's data is not JSON.")
	}
	v = walkStrings(v, func(s string) string {
		if ref, ok := strings.CutPrefix(s, bulkRefPrefix); ok {
			return created[ref]
		}
		for _, ref := range refsIn(s) {
			s = strings.ReplaceAll(s, `"`+bulkRefPrefix+ref+`"`, `"`+created[ref]+`"`)
		}
		return s
	})
	return json.Marshal(v)
}

// walkStrings returns v with every string value (not object keys)
// replaced by f's answer.
func walkStrings(v any, f func(string) string) any {
	switch t := v.(type) {
	case string:
		return f(t)
	case []any:
		for i := range t {
			t[i] = walkStrings(t[i], f)
		}
	case map[string]any:
		for k := range t {
			t[k] = walkStrings(t[k], f)
		}
	}
	return v
}
