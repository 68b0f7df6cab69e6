package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/patientaccess/gateway/gateway/devaccount"
)

func testDevelopers(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.GetDeveloper(ctx, "dev@app.example")
	wantErr(t, "get missing developer", err, devaccount.ErrNotFound)
	a := devaccount.Account{ID: devaccount.IDFor("dev@app.example"), Email: "dev@app.example", Name: "Dana Dev",
		Organisation: "App Co", PasswordHash: "$2a$10$x", CreatedAt: c.Now()}
	wantErr(t, "create developer", b.CreateDeveloper(ctx, a), nil)
	got, err := b.GetDeveloper(ctx, "dev@app.example")
	wantErr(t, "get developer", err, nil)
	wantEqual(t, "developer", got, a)

	again := a
	again.Name, again.PasswordHash = "Mallory", "$2a$10$y"
	wantErr(t, "create developer with a taken address", b.CreateDeveloper(ctx, again), devaccount.ErrExists)
	got, _ = b.GetDeveloper(ctx, "dev@app.example")
	wantEqual(t, "developer after a refused sign-up", got, a)
	_, err = b.GetDeveloper(ctx, "other@app.example")
	wantErr(t, "get other developer", err, devaccount.ErrNotFound)
}

// testDeveloperSignUpRace: of sign-ups racing for one address, exactly one
// creates the account.
func testDeveloperSignUpRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.CreateDeveloper(ctx, devaccount.Account{ID: "dev-race", Email: "race@app.example",
				Name: string(rune('a' + i)), PasswordHash: "h", CreatedAt: c.Now()})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, devaccount.ErrExists):
			t.Fatalf("racing sign-up: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d racing sign-ups created the account, want 1", won, n)
	}
}
