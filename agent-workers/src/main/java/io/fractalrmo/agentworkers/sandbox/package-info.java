/**
 * Running untrusted Python: {@link io.fractalrmo.agentworkers.sandbox.PythonSandbox} (one
 * process per run, bubblewrap namespaces when installed, rlimits and an unprivileged uid always,
 * wall-clock kill of every process of the run, bounded output, parsed exceptions, a warm pool of
 * launchers) and the shared {@link io.fractalrmo.agentworkers.sandbox.Bubblewrap} command line.
 */
package io.fractalrmo.agentworkers.sandbox;
