/** The validator's per-record logic: levels 1–4 ({@link io.fractalrmo.agentworkers.validator.ValidatorHandler}). */
package io.fractalrmo.agentworkers.validator;
