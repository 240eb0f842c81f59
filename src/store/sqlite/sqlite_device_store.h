// The SQLite backend of DeviceStore, kept in the same file as the mail store
// (tables prefixed `eas_`, migrations under the component "devices").
//
// One connection behind a mutex: the writes are a few small rows per request,
// so a writer thread and a read pool (as the mail store has) would cost more
// than they save. Every write runs in its own BEGIN IMMEDIATE transaction;
// busy_timeout covers the mail store's writer holding the file's write lock.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/error.h"
#include "store/device_store.h"

namespace rampart::store::sqlite {

// Opens (creating if needed) the device tables in the SQLite file at `path`.
// `random` draws policy keys and sync-key generations; it must outlive the
// store and is only called under the store's lock. Errc::storage_error when
// the file cannot be opened or migrated.
Result<std::unique_ptr<DeviceStore>> openSqliteDeviceStore(const std::string& path,
                                                           Random& random);

}  // namespace rampart::store::sqlite
