// Package keystonetest is a test helper that talks to a real OpenStack Keystone: it connects
// as Keystone's bootstrap admin, creates a project and two users with known roles for the
// calling test, issues and revokes their tokens, and deletes what it created when the test
// ends. It is for tests only; no production code may import it.
//
// The Keystone is named by $DRYDOCK_KEYSTONE_URL (scripts/keystone-server starts one) and its
// admin password by $DRYDOCK_KEYSTONE_ADMIN_PASSWORD (default s3cret, the script's default).
// Without a URL the tests that need it are skipped, loudly; with DRYDOCK_REQUIRE_KEYSTONE=1
// they fail instead.
package keystonetest

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// Environment variables read by New.
const (
	EnvURL           = "DRYDOCK_KEYSTONE_URL"
	EnvAdminPassword = "DRYDOCK_KEYSTONE_ADMIN_PASSWORD"
	EnvRequire       = "DRYDOCK_REQUIRE_KEYSTONE"
)

// DefaultAdminPassword is scripts/keystone-server's default admin password.
const DefaultAdminPassword = "s3cret"

// Help is the banner printed when a test is skipped (or fails) for want of a Keystone.
const Help = `
************************************************************************************
** The Keystone tests need a real Keystone: DRYDOCK_KEYSTONE_URL is not set. To run them:
**   DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends keystone
**   scripts/keystone-server start /tmp/ks 15000
**   DRYDOCK_KEYSTONE_URL=http://127.0.0.1:15000/v3 go test -race -run Keystone ./internal/api/... ./internal/app/
** DRYDOCK_KEYSTONE_ADMIN_PASSWORD defaults to s3cret, the script's default.
** With DRYDOCK_REQUIRE_KEYSTONE=1 a missing Keystone fails the tests instead of skipping them.
************************************************************************************`

// User is a Keystone user in domain Default.
type User struct {
	Name, ID, Password string
}

// Fixture is a real Keystone with an admin client and the test's users and project.
type Fixture struct {
	// URL is Keystone's identity v3 endpoint, e.g. http://127.0.0.1:15000/v3.
	URL string
	// AdminPassword is the password of the bootstrap user "admin" (domain Default).
	AdminPassword string
	// Admin is an identity v3 client authenticated as admin, scoped to project admin.
	Admin *gophercloud.ServiceClient

	// AdminUser is the bootstrap admin and AdminProjectID its project "admin".
	AdminUser      User
	AdminProjectID string
	// ProjectID is the test's own project, deleted when the test ends.
	ProjectID string

	// Operator has role member on ProjectID; Deployer has role admin on it (and, by Keystone's
	// implied roles, member and reader). Both are deleted when the test ends.
	Operator User
	Deployer User

	// AdminProjectConfigured: Keystone has an admin project ([resource] admin_project_name) and
	// so sets is_admin_project in tokens; scripts/keystone-server configures one.
	AdminProjectConfigured bool
}

// New connects to the Keystone named by $DRYDOCK_KEYSTONE_URL (skipping the test when it is
// unset, unless DRYDOCK_REQUIRE_KEYSTONE=1, which fails it) and creates a project and two users,
// deleted by t.Cleanup when the test ends.
func New(t testing.TB) *Fixture {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal("FAIL (" + EnvRequire + "=1)" + Help)
		}
		t.Skip("SKIPPED" + Help)
	}
	f := &Fixture{URL: u, AdminPassword: os.Getenv(EnvAdminPassword)}
	if f.AdminPassword == "" {
		f.AdminPassword = DefaultAdminPassword
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: u, Username: "admin", Password: f.AdminPassword, DomainName: "Default",
		Scope: &gophercloud.AuthScope{ProjectName: "admin", DomainName: "Default"},
	})
	if err != nil {
		t.Fatalf("authenticating as admin with Keystone at %s (is it running? see scripts/keystone-server): %v", u, err)
	}
	f.Admin, err = openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}

	// The admin user and project, looked up by name.
	allUsers, err := users.List(f.Admin, users.ListOpts{Name: "admin", DomainID: "default"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	us, err := users.ExtractUsers(allUsers)
	if err != nil || len(us) != 1 {
		t.Fatalf("finding user admin: %v (%d found)", err, len(us))
	}
	f.AdminUser = User{Name: "admin", ID: us[0].ID, Password: f.AdminPassword}
	allProjects, err := projects.List(f.Admin, projects.ListOpts{Name: "admin", DomainID: "default"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := projects.ExtractProjects(allProjects)
	if err != nil || len(ps) != 1 {
		t.Fatalf("finding project admin: %v (%d found)", err, len(ps))
	}
	f.AdminProjectID = ps[0].ID

	// The test's project and users. Names are unique so that runs (and test binaries running
	// in parallel against the same Keystone) do not collide.
	sfx := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strings.ToLower(rand.Text()[:6])
	p, err := projects.Create(ctx, f.Admin, projects.CreateOpts{Name: "drydock-test-" + sfx, DomainID: "default"}).Extract()
	if err != nil {
		t.Fatalf("creating project: %v", err)
	}
	f.ProjectID = p.ID
	t.Cleanup(func() {
		if err := projects.Delete(context.Background(), f.Admin, p.ID).ExtractErr(); err != nil {
			t.Errorf("deleting project %s: %v", p.Name, err)
		}
	})
	roleIDs := map[string]string{}
	for _, name := range []string{"member", "admin"} {
		pages, err := roles.List(f.Admin, roles.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := roles.ExtractRoles(pages)
		if err != nil || len(rs) != 1 {
			t.Fatalf("finding role %s: %v (%d found)", name, err, len(rs))
		}
		roleIDs[name] = rs[0].ID
	}
	newUser := func(name, role string) User {
		tu := User{Name: name + "-" + sfx, Password: rand.Text()}
		usr, err := users.Create(ctx, f.Admin, users.CreateOpts{
			Name: tu.Name, DomainID: "default", Password: tu.Password, DefaultProjectID: f.ProjectID,
		}).Extract()
		if err != nil {
			t.Fatalf("creating user %s: %v", tu.Name, err)
		}
		tu.ID = usr.ID
		t.Cleanup(func() {
			if err := users.Delete(context.Background(), f.Admin, usr.ID).ExtractErr(); err != nil {
				t.Errorf("deleting user %s: %v", tu.Name, err)
			}
		})
		err = roles.Assign(ctx, f.Admin, roleIDs[role], roles.AssignOpts{UserID: usr.ID, ProjectID: f.ProjectID}).ExtractErr()
		if err != nil {
			t.Fatalf("assigning role %s to %s: %v", role, tu.Name, err)
		}
		return tu
	}
	f.Operator = newUser("operator", "member")
	f.Deployer = newUser("deployer", "admin")

	// Does this Keystone have an admin project?
	res := tokens.Get(ctx, f.Admin, provider.Token())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var raw struct {
		IsAdminProject *bool `json:"is_admin_project"`
	}
	if err := res.ExtractInto(&raw); err != nil {
		t.Fatal(err)
	}
	f.AdminProjectConfigured = raw.IsAdminProject != nil
	return f
}

// Token issues a token for u scoped to projectID (failing the test when Keystone refuses).
func (f *Fixture) Token(t testing.TB, u User, projectID string) string {
	t.Helper()
	tok, err := tokens.Create(t.Context(), f.Admin, &tokens.AuthOptions{
		Username: u.Name, Password: u.Password, DomainName: "Default",
		Scope: tokens.Scope{ProjectID: projectID},
	}).ExtractTokenID()
	if err != nil || tok == "" {
		t.Fatalf("issuing a token for %s: %v", u.Name, err)
	}
	return tok
}

// Revoke revokes a token in Keystone (failing the test when Keystone refuses).
func (f *Fixture) Revoke(t testing.TB, tok string) {
	t.Helper()
	if err := tokens.Revoke(t.Context(), f.Admin, tok).Err; err != nil {
		t.Fatalf("revoking token: %v", err)
	}
}
