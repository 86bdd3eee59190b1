package labenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Several labs run on one machine at once, each with its own ID (0..MaxID),
// names and addresses:
//
//	ID k              0                  k > 0
//	netns/link prefix kl-                kl<k>-
//	bridges           klbr0, klbr1       klb<k>o, klb<k>i
//	default dir       build/lab          build/lab<k>
//	outer network     198.18.(32k).0/19  (bridge .1, db .2, bastion .3,
//	                  kong-N 198.18.(32k+1).N, dp-N .(32k+2).N, spare-N .(32k+3).N)
//	inner network     198.19.(32k).0/19  (behind the bastion, same layout)
//
// Down removes only its own lab's names, so labs never tear each other down.
const (
	MaxID     = 7
	NetPrefix = 19 // every lab network is a /19

	// EnvID names the environment variable that gives the lab ID when
	// Options.ID is 0 (tests, make).
	EnvID = "KONGCTL_LAB_ID"
)

// Network is the names and addresses of one lab.
type Network struct {
	ID          int
	Prefix      string // netns and link names: "kl-" or "kl<k>-"
	Bridge      string // the machine's bridge: klbr0 or klb<k>o
	InnerBridge string // inside the bastion's namespace: klbr1 or klb<k>i
	BridgeAddr  string // 198.18.(32k).1
	OuterNet    string // 198.18.(32k).0/19
	InnerGW     string // the bastion's inner address, 198.19.(32k).1
	InnerNet    string // 198.19.(32k).0/19
}

// NetworkOf returns the plan of lab id (0..MaxID; callers check the range).
func NetworkOf(id int) Network {
	n := Network{ID: id, Prefix: "kl-", Bridge: "klbr0", InnerBridge: "klbr1"}
	if id != 0 {
		n.Prefix = fmt.Sprintf("kl%d-", id)
		n.Bridge = fmt.Sprintf("klb%do", id)
		n.InnerBridge = fmt.Sprintf("klb%di", id)
	}
	n.BridgeAddr = n.outer(0, 1)
	n.OuterNet = fmt.Sprintf("%s/%d", n.outer(0, 0), NetPrefix)
	n.InnerGW = n.inner(0, 1)
	n.InnerNet = fmt.Sprintf("%s/%d", n.inner(0, 0), NetPrefix)
	return n
}

// outer is 198.18.(32k+third).last; inner the same in 198.19.
func (n Network) outer(third, last int) string {
	return fmt.Sprintf("198.18.%d.%d", 32*n.ID+third, last)
}

func (n Network) inner(third, last int) string {
	return fmt.Sprintf("198.19.%d.%d", 32*n.ID+third, last)
}

// Third octets (offset from 32k) of the host groups.
const (
	groupInfra = 0 // bridge .1, db .2, bastion .3
	groupKong  = 1
	groupDP    = 2
	groupSpare = 3
)

// ownsNetns reports whether a netns name belongs to this lab. Prefixes of
// different IDs never prefix each other ("kl-" vs "kl1-").
func (n Network) ownsNetns(name string) bool { return strings.HasPrefix(name, n.Prefix) }

// ownsLink reports whether a machine link belongs to this lab: its bridges
// (by exact name) and its veths (by prefix).
func (n Network) ownsLink(name string) bool {
	return name == n.Bridge || name == n.InnerBridge || strings.HasPrefix(name, n.Prefix)
}

// routes are the machine routes a lab may add; Down removes them also when
// no state.json recorded them. Lab 0 also removes the /16 route of the labs
// built before IDs existed.
func (n Network) routes() []string {
	r := []string{"unreachable " + n.InnerNet}
	if n.ID == 0 {
		r = append(r, "unreachable 198.19.0.0/16")
	}
	return r
}

// checkID checks a lab ID's range.
func checkID(id int) error {
	if id < 0 || id > MaxID {
		return fmt.Errorf("lab id %d: must be 0..%d", id, MaxID)
	}
	return nil
}

// DefaultID is the lab ID from $KONGCTL_LAB_ID, or 0 when it is unset or
// empty.
func DefaultID() (int, error) {
	v := strings.TrimSpace(os.Getenv(EnvID))
	if v == "" {
		return 0, nil
	}
	id, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not a lab id (0..%d)", EnvID, v, MaxID)
	}
	if err := checkID(id); err != nil {
		return 0, fmt.Errorf("%s: %w", EnvID, err)
	}
	return id, nil
}

// DirName is the default dir of lab id under build/: "lab" or "lab<k>".
func DirName(id int) string {
	if id == 0 {
		return "lab"
	}
	return "lab" + strconv.Itoa(id)
}

// DefaultDir is <repository root>/build/lab (ID 0) or build/lab<k>.
func DefaultDir(id int) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(BuildBase(root), DirName(id)), nil
}

// idFromDirName returns k for a dir named like a default dir (lab, lab<k>).
func idFromDirName(dir string) (int, bool) {
	base := filepath.Base(dir)
	for id := 0; id <= MaxID; id++ {
		if base == DirName(id) {
			return id, true
		}
	}
	return 0, false
}
