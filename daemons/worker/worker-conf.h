/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include "config/config.h"

/* The worker's configuration values and program description (command line, environment, worker.conf). */
extern const ConfigProgram worker_program;
