package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

const (
	groupSeats   = 3  // named seats of the plan at first
	groupUsers   = 14 // users who come and go in the named groups
	groupRounds  = 3
	groupAgents  = 4 // agents holding sessions through the concurrent groups
	groupWorkers = 8 // SCIM requests in flight at once
)

// groupRace is the state of TestTwoProcessesGroupLicensing: the servers,
// the tokens, and what the test knows of the users' entitlements.
type groupRace struct {
	t       *testing.T
	c       client
	servers []string
	scim    string // bearer token of the identity provider
	admin   string // bearer token of an admin with read and billing
	named   []string
	member  map[[2]string]bool // (group, user) pairs of the named groups
	active  map[string]bool
	retried atomic.Int64 // PATCHes answered 412 and sent again
}

// TestTwoProcessesGroupLicensing runs two scimd processes on one
// PostgreSQL and sends them, over SCIM and in the identity providers'
// shapes (Okta's one-member add and filtered remove, Entra's capitalized
// Add and Remove with a value list, both deactivations), racing
// membership changes of two named-licensed groups and user deactivations
// for 3 named seats, while agents hold sessions through concurrent-licensed
// groups, one of which, in the last round, gives one more product and
// drops half of them in one PATCH. After each
// round, read through the admin API of either process: the named
// licenses in force never exceed the plan, nobody waits while a seat is
// free, and exactly the users entitled to a named license hold it or wait,
// with reason named_seats_exhausted, at places 1..n. Then three users
// join, one at a time through alternate processes (they queue last, in
// that order); one PATCH removes a seat holder and adds a newcomer (the
// seat goes to the head of the queue, the newcomer queues last); and the
// plan grows one seat at a time (PUT on either process): each time the
// head of the queue, and only they, gets the seat. The
// agents whose last licensing group dropped them get 410 on their next
// call; the others keep their sessions.
func TestTwoProcessesGroupLicensing(t *testing.T) {
	s := newScimd(t)
	s.run(t, "account", "create", "groups")
	r := &groupRace{
		t:      t,
		c:      client{http: &http.Client{Timeout: 30 * time.Second}},
		scim:   strings.TrimSpace(s.run(t, "token", "create", "--account", "groups", "--name", "idp")),
		admin:  strings.TrimSpace(s.run(t, "token", "create", "--account", "groups", "--scope", "admin", "--name", "e2e", "--privileges", "read,billing")),
		member: map[[2]string]bool{},
		active: map[string]bool{},
	}
	s.run(t, "plan", "set", "--account", "groups", "--product", product, "--named", fmt.Sprint(groupSeats), "--concurrent", fmt.Sprint(groupAgents))
	r.servers = []string{s.serve(t), s.serve(t)}

	for i := range groupUsers {
		id := r.createUser(fmt.Sprintf("user%02d@groups.test", i), false)
		r.named = append(r.named, id)
		r.active[id] = true
	}
	var agentIDs []string
	for i := range groupAgents {
		agentIDs = append(agentIDs, r.createUser(fmt.Sprintf("agent%d@groups.test", i), true))
	}
	tiers := []string{r.createGroup("Tier 1", "named", nil), r.createGroup("Tier 2", "named", nil)}
	shared := r.createGroup("Shared", "concurrent", agentIDs)
	r.createGroup("Shared 2", "concurrent", agentIDs[:groupAgents/2])
	if t.Failed() {
		t.FailNow()
	}

	rng := rand.New(rand.NewPCG(12, uint64(time.Now().UnixNano())))
	var off []string // deactivated in the last round, reactivated in this one
	var sessions []agentSession
	for round := range groupRounds {
		var ops []func(server string) bool
		for _, g := range tiers {
			for _, u := range r.named {
				if rng.IntN(3) == 0 {
					ops = append(ops, r.memberOp(g, u, len(ops)))
				}
			}
		}
		toggled := slices.Clone(off)
		off = nil
		for _, i := range rng.Perm(groupUsers) {
			if u := r.named[i]; len(off) < 2 && !slices.Contains(toggled, u) {
				off = append(off, u)
			}
		}
		for _, u := range append(toggled, off...) {
			ops = append(ops, r.activeOp(u, len(ops)))
		}
		if round == groupRounds-1 {
			// The agents sign in and start sessions through the
			// concurrent groups; then one Entra PATCH, racing the rest,
			// has Shared give one more product and drop the second half
			// of them.
			sessions = r.startSessions(agentIDs)
			ops = append(ops, func(server string) bool {
				var values []map[string]any
				for _, id := range agentIDs[groupAgents/2:] {
					values = append(values, map[string]any{"value": id})
				}
				return r.patchGroup(server, shared,
					map[string]any{"op": "Add", "path": licensing.GroupLicensingURN + ":serviceDesk", "value": "Concurrent"},
					map[string]any{"op": "Remove", "path": "members", "value": values})
			})
		}
		rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		r.race(ops)
		if t.Failed() {
			t.FailNow()
		}
		r.checkQueue(fmt.Sprintf("round %d", round), r.servers[round%2], tiers)
	}

	// Three users join Tier 1, one at a time through alternate processes:
	// they queue at the back, in that order.
	var late []string
	for i := range 3 {
		id := r.createUser(fmt.Sprintf("late%d@groups.test", i), false)
		r.active[id] = true
		r.named = append(r.named, id)
		late = append(late, id)
		r.memberOp(tiers[0], id, 0)(r.servers[i%2])
	}
	queue, holders, total := r.checkQueue("after the late joins", r.servers[0], tiers)
	if n := len(queue); n < len(late)+1 || !slices.Equal(queue[n-len(late):], late) {
		t.Fatalf("queue %v, want it to end with the late joiners %v", queue, late)
	}
	// One PATCH removes a seat holder from their one named group and adds
	// a newcomer: the seat goes to the head of the queue, the newcomer
	// queues last. (The holder leaves their other group first, keeping
	// the seat.)
	holder := holders[0]
	var in []string
	for _, g := range tiers {
		if r.member[[2]string{g, holder}] {
			in = append(in, g)
		}
	}
	for _, g := range in[1:] {
		r.memberOp(g, holder, 0)(r.servers[0])
	}
	newcomer := r.createUser("newcomer@groups.test", false)
	r.active[newcomer] = true
	r.named = append(r.named, newcomer)
	r.patchGroup(r.servers[1], in[0], r.memberChange(in[0], holder, 0), r.memberChange(in[0], newcomer, 1))
	next, _, _ := r.checkQueue("after a holder left and a newcomer joined in one PATCH", r.servers[0], tiers)
	if want := append(slices.Clone(queue[1:]), newcomer); !slices.Equal(next, want) {
		t.Fatalf("queue %v, want %v (the head promoted, the newcomer last)", next, want)
	}
	queue = next
	// The plan grows one seat at a time: the head of the queue gets it.
	for k := range len(queue) {
		total++
		r.setNamedSeats(r.servers[k%2], total)
		next, _, _ := r.checkQueue(fmt.Sprintf("plan of %d named seats", total), r.servers[(k+1)%2], tiers)
		if !slices.Equal(next, queue[1:]) {
			t.Fatalf("plan of %d named seats: queue %v, want %v (the head promoted, the others moved up)", total, next, queue[1:])
		}
		queue = next
	}

	t.Logf("%d PATCHes answered 412 (no If-Match sent) and sent again", r.retried.Load())

	// The agents whose last licensing group dropped them lost their
	// sessions: 410 on their next call. The others keep theirs.
	for i, a := range sessions {
		status, body, err := r.c.call("POST", r.servers[i%2]+"/api/v1/agent/sessions/"+a.id+"/heartbeat", a.bearer, nil)
		keeps := i < groupAgents/2
		switch {
		case err != nil:
			t.Errorf("agent %d heartbeat: %v", i, err)
		case keeps && status != http.StatusOK:
			t.Errorf("agent %d, still licensed by Shared 2: heartbeat %d %v", i, status, body)
		case !keeps && (status != http.StatusGone || body["code"] != "session_ended"):
			t.Errorf("agent %d, dropped by their last licensing group: heartbeat %d %v, want 410 session_ended", i, status, body)
		}
	}
}

// agentSession is an agent's session and bearer token.
type agentSession struct{ id, bearer string }

// createUser provisions a user over SCIM, with the agent password if
// withPassword.
func (r *groupRace) createUser(userName string, withPassword bool) string {
	user := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": true,
	}
	if withPassword {
		user["password"] = password
	}
	status, body, err := r.c.call("POST", r.servers[0]+"/scim/v2/Users", r.scim, user)
	if err != nil || status != http.StatusCreated {
		r.t.Fatalf("create %s: %d %v %v", userName, status, body, err)
	}
	return body["id"].(string)
}

// createGroup creates, as Okta's group push does, a group giving the
// product as license, with members.
func (r *groupRace) createGroup(name, license string, members []string) string {
	values := []map[string]any{}
	for _, id := range members {
		values = append(values, map[string]any{"value": id})
	}
	status, body, err := r.c.call("POST", r.servers[1]+"/scim/v2/Groups", r.scim, map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group", licensing.GroupLicensingURN},
		"displayName": name, "members": values,
		licensing.GroupLicensingURN: map[string]any{"remoteSupportV5": license},
	})
	if err != nil || status != http.StatusCreated {
		r.t.Fatalf("create group %s: %d %v %v", name, status, body, err)
	}
	return body["id"].(string)
}

// memberOp returns the PATCH that adds user to group, or removes them if
// they are a member, in Okta's shape or Entra's (by n's parity), and
// counts it done in the model.
func (r *groupRace) memberOp(group, user string, n int) func(server string) bool {
	op := r.memberChange(group, user, n)
	return func(server string) bool { return r.patchGroup(server, group, op) }
}

// memberChange returns the PATCH operation of memberOp, counted done in
// the model.
func (r *groupRace) memberChange(group, user string, n int) map[string]any {
	key := [2]string{group, user}
	add := !r.member[key]
	r.member[key] = add
	var op map[string]any
	switch {
	case add && n%2 == 0:
		op = map[string]any{"op": "add", "path": "members", "value": []map[string]any{{"value": user, "display": user}}}
	case add:
		op = map[string]any{"op": "Add", "path": "members", "value": []map[string]any{{"value": user}}}
	case n%2 == 0:
		op = map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", user)}
	default:
		op = map[string]any{"op": "Remove", "path": "members", "value": []map[string]any{{"value": user}}}
	}
	return op
}

// activeOp returns the PATCH that deactivates user, or reactivates them,
// in Okta's shape or Entra's (by n's parity), and counts it done in the
// model.
func (r *groupRace) activeOp(user string, n int) func(server string) bool {
	on := !r.active[user]
	r.active[user] = on
	op := map[string]any{"op": "replace", "value": map[string]any{"active": on}}
	if n%2 == 1 {
		op = map[string]any{"op": "Replace", "path": "active", "value": map[bool]string{true: "True", false: "False"}[on]}
	}
	return func(server string) bool { return r.patch(server, "/scim/v2/Users/"+user, op) }
}

// patchGroup sends PATCH operations to a group.
func (r *groupRace) patchGroup(server, group string, ops ...map[string]any) bool {
	return r.patch(server, "/scim/v2/Groups/"+group, ops...)
}

// patch sends one PATCH operation to a resource, failing the test (not
// stopping it) unless it answers 200 or 204. A 412 (the server lost the
// race for the resource's version too often) is sent again, as identity
// providers retry a failed request, and counted.
func (r *groupRace) patch(server, path string, ops ...map[string]any) bool {
	for {
		status, body, err := r.c.call("PATCH", server+path, r.scim, map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": ops,
		})
		switch {
		case err == nil && status == http.StatusPreconditionFailed:
			r.retried.Add(1)
			continue
		case err != nil || (status != http.StatusOK && status != http.StatusNoContent):
			r.t.Errorf("PATCH %s %v: %d %v %v", path, ops, status, body, err)
			return false
		}
		return true
	}
}

// race sends the operations at once, groupWorkers at a time, alternately
// through each process.
func (r *groupRace) race(ops []func(server string) bool) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range groupWorkers {
		wg.Go(func() {
			for i := range next {
				ops[i](r.servers[i%2])
			}
		})
	}
	for i := range ops {
		next <- i
	}
	close(next)
	wg.Wait()
}

// startSessions signs the agents in and starts a session of the product
// for each, through alternate processes.
func (r *groupRace) startSessions(agentIDs []string) []agentSession {
	var out []agentSession
	for i := range agentIDs {
		status, body, err := r.c.call("POST", r.servers[i%2]+"/api/v1/agent/signin", "",
			map[string]any{"account": "groups", "userName": fmt.Sprintf("agent%d@groups.test", i), "password": password})
		if err != nil || status != http.StatusOK {
			r.t.Fatalf("agent %d sign in: %d %v %v", i, status, body, err)
		}
		bearer := body["token"].(string)
		status, body, err = r.c.call("POST", r.servers[(i+1)%2]+"/api/v1/agent/sessions", bearer,
			map[string]any{"product": product, "platform": "windows"})
		if err != nil || status != http.StatusCreated {
			r.t.Fatalf("agent %d start: %d %v %v", i, status, body, err)
		}
		out = append(out, agentSession{id: body["id"].(string), bearer: bearer})
	}
	return out
}

// setNamedSeats sets the plan's named seats through the admin API.
func (r *groupRace) setNamedSeats(server string, n int) {
	status, body, err := r.c.call("PUT", server+"/api/v1/admin/products/"+product+"/plan", r.admin,
		map[string]any{"namedSeats": n, "concurrentSeats": groupAgents})
	if err != nil || status != http.StatusOK {
		r.t.Fatalf("PUT plan of %d named seats: %d %v %v", n, status, body, err)
	}
}

// checkQueue reads, through the admin API of server, the product's seats
// and every user's licenses, checks them against the model and returns
// the users waiting for a named seat, in queue order, those holding one,
// and the plan's named seats.
func (r *groupRace) checkQueue(when, server string, tiers []string) (queue, holders []string, total int) {
	r.t.Helper()
	status, prod, err := r.c.call("GET", server+"/api/v1/admin/products/"+product, r.admin, nil)
	if err != nil || status != http.StatusOK {
		r.t.Fatalf("%s: GET product: %d %v %v", when, status, prod, err)
	}
	named := prod["named"].(map[string]any)
	assigned, pending := int(named["assigned"].(float64)), int(named["pending"].(float64))
	total = int(named["total"].(float64))
	status, page, err := r.c.call("GET", server+"/api/v1/admin/users?limit=500", r.admin, nil)
	if err != nil || status != http.StatusOK {
		r.t.Fatalf("%s: GET users: %d %v %v", when, status, page, err)
	}
	waiting := map[int]string{}
	for _, item := range page["items"].([]any) {
		u := item.(map[string]any)
		id := u["id"].(string)
		state := ""
		for _, l := range u["licenses"].([]any) {
			l := l.(map[string]any)
			if l["product"] != product || l["license"] != "named" {
				continue
			}
			state = l["status"].(string)
			switch {
			case state == "active":
				holders = append(holders, id)
			case l["reason"] != licensing.ReasonNamedSeatsExhausted:
				r.t.Errorf("%s: %s waits with reason %v", when, u["userName"], l["reason"])
			case waiting[int(l["place"].(float64))] != "":
				r.t.Errorf("%s: %s and %s at place %v", when, u["userName"], waiting[int(l["place"].(float64))], l["place"])
			default:
				waiting[int(l["place"].(float64))] = id
			}
		}
		if slices.Contains(r.named, id) && r.entitled(id, tiers) != (state != "") {
			r.t.Errorf("%s: %s (active %v) holds %q of a named license", when, u["userName"], r.active[id], state)
		}
	}
	if assigned > total || len(holders) != assigned {
		r.t.Errorf("%s: %d named seats counted, %d held, of %d", when, assigned, len(holders), total)
	}
	if len(waiting) != pending || (pending > 0 && assigned < total) {
		r.t.Errorf("%s: %d waiting (%d counted) with %d of %d seats taken", when, len(waiting), pending, assigned, total)
	}
	queue = make([]string, len(waiting))
	for place, id := range waiting {
		if place < 1 || place > len(queue) {
			r.t.Fatalf("%s: places %v, want 1..%d", when, waiting, len(waiting))
		}
		queue[place-1] = id
	}
	return queue, holders, total
}

// entitled tells whether the model entitles user to a named license:
// active and a member of a named group.
func (r *groupRace) entitled(user string, tiers []string) bool {
	return r.active[user] && slices.ContainsFunc(tiers, func(g string) bool { return r.member[[2]string{g, user}] })
}
