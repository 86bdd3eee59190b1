package inventory

import "fmt"

// suggest returns the candidate closest to given when it is close enough to
// be a likely typo (edit distance below 3, or below a third of its length
// for longer names), else "".
func suggest(given string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		dist := levenshtein(given, c)
		if bestDist < 0 || dist < bestDist {
			best, bestDist = c, dist
		}
	}
	limit := 3
	if l := len(given) / 3; l > limit {
		limit = l
	}
	if bestDist < 0 || bestDist >= limit || best == given {
		return ""
	}
	return best
}

// didYouMean renders suggest as a sentence, with a leading space, or "".
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
