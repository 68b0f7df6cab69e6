package redis

import "github.com/patientaccess/gateway/oauth"

// checkArgsSize bounds the tokens whose check arguments are kept.
const checkArgsSize = 4096

// accessArgs are the arguments of one access token's check (checkAccess),
// made once: the keys and the record's field, each boxed as go-redis
// takes a command's arguments, so that a token's next check neither
// builds its keys again nor boxes them (a string passed to go-redis's Get
// or HGet is copied to the heap for every command). A key stays a string
// in its box, as a Cluster client needs to find its slot. Never changed
// once kept.
type accessArgs struct {
	requestID, clientID string
	index, field        any // the request's hash and the record's field in it
	grantKey, appKey    string
	grant, app          any // grantKey and appKey, boxed; app is nil without a client
	// member names the member whose stream memberEvents is the key of
	// (boxed): the member of the events appended with the check.
	member       string
	memberEvents any
}

// checkArgs keeps the arguments of the tokens checked lately, by
// signature (a token's request and client never change). When full, an
// arbitrary entry makes room.
type checkArgs struct {
	kept bounded[string, *accessArgs] // max checkArgsSize
}

// get returns the arguments of the check of the access token sig, of
// requestID and clientID, with the stream of the member eventsOf (none
// when it is ""):
// those kept, or new ones, then kept.
func (c *checkArgs) get(s *Store, sig, requestID, clientID, eventsOf string) *accessArgs {
	a, ok := c.kept.get(sig)
	if ok && a.requestID == requestID && a.clientID == clientID && (eventsOf == "" || a.member == eventsOf) {
		return a
	}
	a = &accessArgs{requestID: requestID, clientID: clientID, member: eventsOf,
		index: s.indexKey(requestID), field: member(oauth.KindAccess, sig), grantKey: s.grantKey(requestID)}
	a.grant = a.grantKey
	if clientID != "" {
		a.appKey = s.appKey(clientID)
		a.app = a.appKey
	}
	if eventsOf != "" {
		a.memberEvents = s.memberEventsKey(eventsOf)
	}
	c.kept.put(sig, a)
	return a
}
