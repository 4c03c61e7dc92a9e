// Package rollout owns the organisation-wide side of moving to passkeys: the adoption report
// (who has a passkey, a password only, or nothing, and which passkey providers they use), the
// user summaries a policy change is previewed against (authn/policy.Preview), and applying a CSV
// import of joiners and leavers (authn/roster) in one transaction, with an enrollment link per new
// user and leavers disabled, their sessions ended and their tokens revoked.
package rollout
