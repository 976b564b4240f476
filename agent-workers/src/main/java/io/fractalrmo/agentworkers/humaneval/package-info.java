/** OpenAI's HumanEval problems, shipped on the classpath ({@link io.fractalrmo.agentworkers.humaneval.HumanEvalDataset}). */
package io.fractalrmo.agentworkers.humaneval;
