package goclient_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/fakebill/toolkit/examples/goclient"
	"github.com/fakebill/toolkit/sessiontest"
)

func Example() {
	s := sessiontest.NewServer(nil) // a fake Bill.com on loopback
	defer s.Close()

	c, err := goclient.New(goclient.Config{
		BaseURL:    s.BaseURL,
		UserName:   s.Account.UserName,
		Password:   s.Account.Password,
		OrgID:      s.Account.OrgID,
		DevKey:     s.Account.DevKey,
		HTTPClient: s.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := context.Background()
	info, err := c.Call(ctx, "GetSessionInfo.json", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(info))

	s.Advance(35 * time.Minute) // the session expires
	if _, err := c.Call(ctx, "GetSessionInfo.json", nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println("logins:", s.Logins())
	// Output:
	// {"organizationId":"00800000000000000001","userId":"00600000000000000001"}
	// logins: 2
}
