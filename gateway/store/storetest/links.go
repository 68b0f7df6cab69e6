package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

func newLink(member, patient string, c *Clock) oauth.MemberLink {
	return oauth.MemberLink{Member: member, Subject: "sub-" + member, Rule: "identifier:urn:test:member",
		Claim: "M-" + member, PatientID: patient, DisplayName: "Member " + member, CheckedAt: c.Now()}
}

// testMemberLinks checks that a member's Patient link is kept whole, per
// member, replaced in place and removed on request.
func testMemberLinks(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.GetMemberLink(ctx, "oidc:1:a")
	wantErr(t, "get missing link", err, oauth.ErrNotFound)
	a, other := newLink("oidc:1:a", "pat-a", c), newLink("oidc:1:b", "pat-b", c)
	wantErr(t, "put link", b.PutMemberLink(ctx, a), nil)
	wantErr(t, "put other link", b.PutMemberLink(ctx, other), nil)
	got, err := b.GetMemberLink(ctx, a.Member)
	wantErr(t, "get link", err, nil)
	wantEqual(t, "link", got, a)

	c.Advance(25 * time.Hour)
	a.PatientID, a.Claim, a.CheckedAt = "pat-a2", "M-new", c.Now()
	wantErr(t, "replace link", b.PutMemberLink(ctx, a), nil)
	got, _ = b.GetMemberLink(ctx, a.Member)
	wantEqual(t, "replaced link (kept past any age, which the server judges)", got, a)

	wantErr(t, "delete link", b.DeleteMemberLink(ctx, a.Member), nil)
	_, err = b.GetMemberLink(ctx, a.Member)
	wantErr(t, "get deleted link", err, oauth.ErrNotFound)
	wantErr(t, "delete missing link", b.DeleteMemberLink(ctx, a.Member), nil)
	got, err = b.GetMemberLink(ctx, other.Member)
	wantErr(t, "get other link", err, nil)
	wantEqual(t, "other link", got, other)
	_, err = b.GetMember(ctx, other.Member)
	wantErr(t, "a link is not a local member", err, oauth.ErrNotFound)
}
