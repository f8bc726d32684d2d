package chat

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode"
)

// Model is the model every agent runs on (spec: agents-and-data.md §2).
const Model = "gpt-4.1-2025-04-14"

// defaultAgent is the entry agent for an absent or unknown agent_type.
const defaultAgent = "triage"

// recommendedPromptPrefix is the Agents SDK's RECOMMENDED_PROMPT_PREFIX,
// exact (agents-and-data.md §2).
const recommendedPromptPrefix = "# System context\nYou are part of a multi-agent system called the Agents SDK, " +
	"designed to make agent coordination and execution easy. Agents uses two primary abstraction: **Agents** and " +
	"**Handoffs**. An agent encompasses instructions and tools and can hand off a conversation to another agent when " +
	"appropriate. Handoffs are achieved by calling a handoff function, generally named `transfer_to_<agent_name>`. " +
	"Transfers between agents are handled seamlessly in the background; do not mention or draw attention to these " +
	"transfers in your conversation with the user.\n"

// Agent is one agent of the registry: its key (the API's name), the display
// name sent to the model, its instructions, tools and handoff targets.
type Agent struct {
	Key, Name, Model, Instructions string
	HandoffDescription             string
	Capabilities                   []string
	Handoffs                       []string // agent keys
	Tools                          []*Tool
	targets                        []*Agent        // Handoffs, resolved
	tools                          json.RawMessage // toolDefinitions, encoded once
}

// newAgents builds the fixed registry of three agents (agents-and-data.md §2),
// each given its tools from reg.
func newAgents(reg *Tools) map[string]*Agent {
	list := []*Agent{
		{
			Key: "triage", Name: "Triage Assistant", Model: Model,
			Instructions: recommendedPromptPrefix + "\n\n" + "You are the primary triage assistant. Handle general " +
				"inquiries with a helpful, professional tone and decide when to leverage specialised teammates. " +
				"Provide concise, actionable answers, and hand off to the code or data analyst agents when they are " +
				"better suited to respond.",
			Capabilities: []string{"general", "search", "handoff"},
			Handoffs:     []string{"code_assistant", "data_analyst"},
		},
		{
			Key: "code_assistant", Name: "Code Assistant", Model: Model,
			Instructions: "You specialise in software engineering guidance. Focus on code quality, architecture, " +
				"and modern best practices. Provide step-by-step reasoning when helpful.",
			HandoffDescription: "Handles software engineering questions and code reviews.",
			Capabilities:       []string{"code", "search"},
		},
		{
			Key: "data_analyst", Name: "Data Analyst", Model: Model,
			Instructions: "You specialise in data interpretation, statistical analysis, and communicating insights " +
				"clearly. When applicable, propose visual summaries or sanity checks.",
			HandoffDescription: "Supports analytical and quantitative queries.",
			Capabilities:       []string{"analysis", "search"},
		},
	}
	out := make(map[string]*Agent, len(list))
	for _, a := range list {
		a.Tools = reg.forAgent(a.Key, a.Capabilities)
		out[a.Key] = a
	}
	for _, a := range list {
		for _, k := range a.Handoffs {
			a.targets = append(a.targets, out[k])
		}
	}
	for _, a := range list {
		if defs := toolDefinitions(a); len(defs) > 0 {
			a.tools, _ = json.Marshal(defs) // maps of strings and schemas: cannot fail
		}
	}
	return out
}

// handoffTarget is the agent a handoff tool name of a transfers to.
func (a *Agent) handoffTarget(toolName string) (*Agent, bool) {
	for _, t := range a.targets {
		if handoffToolName(t.Name) == toolName {
			return t, true
		}
	}
	return nil, false
}

// agentKeys are the registry's keys, sorted (the order of GET /agents).
func agentKeys(agents map[string]*Agent) []string {
	keys := make([]string, 0, len(agents))
	for k := range agents {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// handoffToolName is "transfer_to_" plus the display name lower-cased with
// every non-alphanumeric character replaced by "_" (agents-and-data.md §2).
func handoffToolName(displayName string) string {
	return "transfer_to_" + strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return '_'
	}, displayName)
}

// handoffDescription is the SDK's handoff tool description.
func handoffDescription(target *Agent) string {
	d := "Handoff to the " + target.Name + " agent to handle the request."
	if target.HandoffDescription != "" {
		d += " " + target.HandoffDescription
	}
	return d
}
