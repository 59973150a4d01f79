export { Manager, type ManagerOptions } from "./core/manager.js";
export {
  PyroError,
  ValidationError,
  NotFoundError,
  StateError,
  UnsafeArchiveError,
  type ErrorCode,
} from "./errors.js";
