/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include "config/config.h"

/* The broker's configuration values and program description (command line, environment, broker.conf). */
extern const ConfigProgram broker_program;
