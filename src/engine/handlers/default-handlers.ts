import type { TaskHandler } from '../task-handler.ts';
import { cacheAnalysisHandler } from './cache-analysis-handler.ts';
import { clearDataHandler } from './clear-data-handler.ts';
import { createHandler } from './create-handler.ts';
import { deleteHandler } from './delete-handler.ts';
import { ipWhiteListHandler } from './ip-white-list-handler.ts';
import { passwordHandler } from './password-handler.ts';
import { resizeHandler } from './resize-handler.ts';
import { settingsHandler } from './settings-handler.ts';

/** The task kinds the service knows; a new kind is a new module added here. */
export const defaultTaskHandlers: readonly TaskHandler[] = [createHandler, resizeHandler, passwordHandler, deleteHandler, ipWhiteListHandler, settingsHandler, clearDataHandler, cacheAnalysisHandler];
