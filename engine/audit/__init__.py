"""The auditor's tools: re-execution, verification, bundles, search, explanations, diffs, exports."""
