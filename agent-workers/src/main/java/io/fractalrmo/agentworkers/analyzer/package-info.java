/**
 * The analyzer swarm's per-record logic: {@link io.fractalrmo.agentworkers.analyzer.AspectAnalyzer}
 * (one per aspect, a {@code RecordHandler<Task>}) on top of
 * {@link io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper}, a long-lived Python process
 * that uses Python's own {@code ast}, {@code symtable}, {@code compile} and
 * {@code importlib.util.find_spec} — never substring matching.
 */
package io.fractalrmo.agentworkers.analyzer;
