package validator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// cluster-autoscaler's Hetzner provider takes its node groups only as
// --nodes=<min>:<max>:<server type>:<location>:<group> arguments, checked
// nowhere before the pod starts: a malformed one stops the autoscaler with a
// fatal error, a duplicated group makes two groups of one pool.

const hetznerProviderArg = "--cloud-provider=hetzner"

var (
	// The group name cluster-autoscaler's Hetzner provider accepts.
	reNodeGroupName = regexp.MustCompile(`^[a-z0-9A-Z]+[a-z0-9A-Z\-._]*[a-z0-9A-Z]+$|^[a-z0-9A-Z]$`)
	reHcloudWord    = regexp.MustCompile(`^[a-z0-9]+$`)
)

// checkAutoscalerNodes checks the --nodes arguments of every container that
// runs cluster-autoscaler with the Hetzner provider.
func checkAutoscalerNodes(o Object) []Finding {
	ps, ok := podSpecOf(o)
	if !ok {
		return nil
	}
	var out []Finding
	cs, _ := ps.spec["containers"].([]any)
	for i, c := range cs {
		cm, _ := c.(map[string]any)
		args := append(strList(cm["command"]), strList(cm["args"])...)
		hetzner := false
		for _, a := range args {
			hetzner = hetzner || a == hetznerProviderArg
		}
		if !hetzner {
			continue
		}
		nCommand := len(strList(cm["command"]))
		seen := map[string]bool{}
		for j, a := range args {
			v, ok := strings.CutPrefix(a, "--nodes=")
			if !ok {
				continue
			}
			field := fmt.Sprintf("%s.containers[%d].args[%d]", ps.prefix, i, j-nCommand)
			if j < nCommand {
				field = fmt.Sprintf("%s.containers[%d].command[%d]", ps.prefix, i, j)
			}
			if msg := nodeGroupProblem(v); msg != "" {
				out = append(out, Finding{File: o.File, Object: o.ID(), Field: field, Msg: fmt.Sprintf("--nodes=%s: %s", v, msg)})
				continue
			}
			name := v[strings.LastIndex(v, ":")+1:]
			if seen[name] {
				out = append(out, Finding{File: o.File, Object: o.ID(), Field: field, Msg: fmt.Sprintf("--nodes=%s: node group %q is listed twice", v, name)})
			}
			seen[name] = true
		}
	}
	return out
}

// nodeGroupProblem explains what is wrong with one --nodes value ("" when
// nothing is).
func nodeGroupProblem(v string) string {
	f := strings.Split(v, ":")
	if len(f) != 5 {
		return "want <min>:<max>:<server type>:<location>:<group> (five fields)"
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	switch {
	case err1 != nil || err2 != nil:
		return "min and max must be whole numbers"
	case lo < 0 || hi < 1 || lo > hi:
		return fmt.Sprintf("need 0 <= min <= max and max >= 1 (min %d, max %d)", lo, hi)
	case !reHcloudWord.MatchString(strings.ToLower(f[2])):
		return fmt.Sprintf("server type %q is not a Hetzner server type name such as cx32", f[2])
	case !reHcloudWord.MatchString(strings.ToLower(f[3])):
		return fmt.Sprintf("location %q is not a Hetzner location name such as fsn1", f[3])
	case !reNodeGroupName.MatchString(f[4]):
		return fmt.Sprintf("group name %q is not one cluster-autoscaler accepts (letters, digits, '-', '.', '_', starting and ending alphanumeric)", f[4])
	}
	return ""
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
