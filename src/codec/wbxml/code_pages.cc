// The ActiveSync code pages, transcribed from [MS-ASWBXML] section 2.1.2.1
// (revision 24.0): one block per code page, each citing its subsection. The
// version sets are the tables' "Protocol versions" column.
#include "codec/wbxml/code_pages.h"

#include <algorithm>
#include <array>

namespace rampart::wbxml {
namespace {

using V = ProtocolVersion;
constexpr VersionMask operator|(V a, V b) {
  return static_cast<VersionMask>(static_cast<VersionMask>(a) | static_cast<VersionMask>(b));
}
constexpr VersionMask operator|(VersionMask a, V b) {
  return static_cast<VersionMask>(a | static_cast<VersionMask>(b));
}

// The version sets that occur in the tables.
constexpr VersionMask kAll = kAllVersions;
constexpr VersionMask k25 = static_cast<VersionMask>(V::v2_5);
constexpr VersionMask k161 = static_cast<VersionMask>(V::v16_1);
constexpr VersionMask k160Up = V::v16_0 | V::v16_1;
constexpr VersionMask k141Up = k160Up | V::v14_1;
constexpr VersionMask k140Up = k141Up | V::v14_0;
constexpr VersionMask k121Up = k140Up | V::v12_1;
constexpr VersionMask k120Up = k121Up | V::v12_0;
constexpr VersionMask k25To121 = V::v2_5 | V::v12_0 | V::v12_1;        // "2.5, 12.0, 12.1"
constexpr VersionMask k25To141 = k25To121 | V::v14_0 | V::v14_1;      // "2.5, ... 14.1"

constexpr TagInfo kTags[] = {
    // 2.1.2.1.1 Code Page 0: AirSync
    {0, 0x05, "Sync", kAll},
    {0, 0x06, "Responses", kAll},
    {0, 0x07, "Add", kAll},
    {0, 0x08, "Change", kAll},
    {0, 0x09, "Delete", kAll},
    {0, 0x0A, "Fetch", kAll},
    {0, 0x0B, "SyncKey", kAll},
    {0, 0x0C, "ClientId", kAll},
    {0, 0x0D, "ServerId", kAll},
    {0, 0x0E, "Status", kAll},
    {0, 0x0F, "Collection", kAll},
    {0, 0x10, "Class", kAll},
    {0, 0x12, "CollectionId", kAll},
    {0, 0x13, "GetChanges", kAll},
    {0, 0x14, "MoreAvailable", kAll},
    {0, 0x15, "WindowSize", kAll},
    {0, 0x16, "Commands", kAll},
    {0, 0x17, "Options", kAll},
    {0, 0x18, "FilterType", kAll},
    {0, 0x19, "Truncation", k25},
    {0, 0x1B, "Conflict", kAll},
    {0, 0x1C, "Collections", kAll},
    {0, 0x1D, "ApplicationData", kAll},
    {0, 0x1E, "DeletesAsMoves", kAll},
    {0, 0x20, "Supported", kAll},
    {0, 0x21, "SoftDelete", kAll},
    {0, 0x22, "MIMESupport", kAll},
    {0, 0x23, "MIMETruncation", kAll},
    {0, 0x24, "Wait", k121Up},
    {0, 0x25, "Limit", k121Up},
    {0, 0x26, "Partial", k121Up},
    {0, 0x27, "ConversationMode", k140Up},
    {0, 0x28, "MaxItems", k140Up},
    {0, 0x29, "HeartbeatInterval", k140Up},

    // 2.1.2.1.2 Code Page 1: Contacts (Body/BodySize/BodyTruncated are 2.5
    // only; later versions use AirSyncBase's Body, note 1)
    {1, 0x05, "Anniversary", kAll},
    {1, 0x06, "AssistantName", kAll},
    {1, 0x07, "AssistantPhoneNumber", kAll},
    {1, 0x08, "Birthday", kAll},
    {1, 0x09, "Body", k25},
    {1, 0x0A, "BodySize", k25},
    {1, 0x0B, "BodyTruncated", k25},
    {1, 0x0C, "Business2PhoneNumber", kAll},
    {1, 0x0D, "BusinessAddressCity", kAll},
    {1, 0x0E, "BusinessAddressCountry", kAll},
    {1, 0x0F, "BusinessAddressPostalCode", kAll},
    {1, 0x10, "BusinessAddressState", kAll},
    {1, 0x11, "BusinessAddressStreet", kAll},
    {1, 0x12, "BusinessFaxNumber", kAll},
    {1, 0x13, "BusinessPhoneNumber", kAll},
    {1, 0x14, "CarPhoneNumber", kAll},
    {1, 0x15, "Categories", kAll},
    {1, 0x16, "Category", kAll},
    {1, 0x17, "Children", kAll},
    {1, 0x18, "Child", kAll},
    {1, 0x19, "CompanyName", kAll},
    {1, 0x1A, "Department", kAll},
    {1, 0x1B, "Email1Address", kAll},
    {1, 0x1C, "Email2Address", kAll},
    {1, 0x1D, "Email3Address", kAll},
    {1, 0x1E, "FileAs", kAll},
    {1, 0x1F, "FirstName", kAll},
    {1, 0x20, "Home2PhoneNumber", kAll},
    {1, 0x21, "HomeAddressCity", kAll},
    {1, 0x22, "HomeAddressCountry", kAll},
    {1, 0x23, "HomeAddressPostalCode", kAll},
    {1, 0x24, "HomeAddressState", kAll},
    {1, 0x25, "HomeAddressStreet", kAll},
    {1, 0x26, "HomeFaxNumber", kAll},
    {1, 0x27, "HomePhoneNumber", kAll},
    {1, 0x28, "JobTitle", kAll},
    {1, 0x29, "LastName", kAll},
    {1, 0x2A, "MiddleName", kAll},
    {1, 0x2B, "MobilePhoneNumber", kAll},
    {1, 0x2C, "OfficeLocation", kAll},
    {1, 0x2D, "OtherAddressCity", kAll},
    {1, 0x2E, "OtherAddressCountry", kAll},
    {1, 0x2F, "OtherAddressPostalCode", kAll},
    {1, 0x30, "OtherAddressState", kAll},
    {1, 0x31, "OtherAddressStreet", kAll},
    {1, 0x32, "PagerNumber", kAll},
    {1, 0x33, "RadioPhoneNumber", kAll},
    {1, 0x34, "Spouse", kAll},
    {1, 0x35, "Suffix", kAll},
    {1, 0x36, "Title", kAll},
    {1, 0x37, "WebPage", kAll},
    {1, 0x38, "YomiCompanyName", kAll},
    {1, 0x39, "YomiFirstName", kAll},
    {1, 0x3A, "YomiLastName", kAll},
    {1, 0x3C, "Picture", kAll},
    {1, 0x3D, "Alias", k140Up},
    {1, 0x3E, "WeightedRank", k140Up},

    // 2.1.2.1.3 Code Page 2: Email (notes 1-4: Attachments, Body, Location
    // and GlobalObjId give way to AirSyncBase / Calendar tags in later versions)
    {2, 0x05, "Attachment", k25},
    {2, 0x06, "Attachments", k25},
    {2, 0x07, "AttName", k25},
    {2, 0x08, "AttSize", k25},
    // The spec's table prints "Att0id" (a digit zero); the element is the
    // attachment's OID, AttOid, as every decoder spells it.
    {2, 0x09, "AttOid", k25},
    {2, 0x0A, "AttMethod", k25},
    {2, 0x0C, "Body", k25},
    {2, 0x0D, "BodySize", k25},
    {2, 0x0E, "BodyTruncated", k25},
    {2, 0x0F, "DateReceived", kAll},
    {2, 0x10, "DisplayName", k25},
    {2, 0x11, "DisplayTo", kAll},
    {2, 0x12, "Importance", kAll},
    {2, 0x13, "MessageClass", kAll},
    {2, 0x14, "Subject", kAll},
    {2, 0x15, "Read", kAll},
    {2, 0x16, "To", kAll},
    {2, 0x17, "Cc", kAll},
    {2, 0x18, "From", kAll},
    {2, 0x19, "ReplyTo", kAll},
    {2, 0x1A, "AllDayEvent", kAll},
    {2, 0x1B, "Categories", k140Up},
    {2, 0x1C, "Category", k140Up},
    {2, 0x1D, "DtStamp", kAll},
    {2, 0x1E, "EndTime", kAll},
    {2, 0x1F, "InstanceType", kAll},
    {2, 0x20, "BusyStatus", kAll},
    {2, 0x21, "Location", k25To141},
    {2, 0x22, "MeetingRequest", kAll},
    {2, 0x23, "Organizer", kAll},
    {2, 0x24, "RecurrenceId", kAll},
    {2, 0x25, "Reminder", kAll},
    {2, 0x26, "ResponseRequested", kAll},
    {2, 0x27, "Recurrences", kAll},
    {2, 0x28, "Recurrence", kAll},
    {2, 0x29, "Type", kAll},
    {2, 0x2A, "Until", kAll},
    {2, 0x2B, "Occurrences", kAll},
    {2, 0x2C, "Interval", kAll},
    {2, 0x2D, "DayOfWeek", kAll},
    {2, 0x2E, "DayOfMonth", kAll},
    {2, 0x2F, "WeekOfMonth", kAll},
    {2, 0x30, "MonthOfYear", kAll},
    {2, 0x31, "StartTime", kAll},
    {2, 0x32, "Sensitivity", kAll},
    {2, 0x33, "TimeZone", kAll},
    {2, 0x34, "GlobalObjId", k25To141},
    {2, 0x35, "ThreadTopic", kAll},
    {2, 0x36, "MIMEData", k25},
    {2, 0x37, "MIMETruncated", k25},
    {2, 0x38, "MIMESize", k25},
    {2, 0x39, "InternetCPID", kAll},
    {2, 0x3A, "Flag", k120Up},
    {2, 0x3B, "Status", k120Up},
    {2, 0x3C, "ContentClass", k120Up},
    {2, 0x3D, "FlagType", k120Up},
    {2, 0x3E, "CompleteTime", k120Up},
    {2, 0x3F, "DisallowNewTimeProposal", k140Up},

    // 2.1.2.1.4 Code Page 3: AirNotify — no longer in use, no tags.

    // 2.1.2.1.5 Code Page 4: Calendar
    {4, 0x05, "Timezone", kAll},
    {4, 0x06, "AllDayEvent", kAll},
    {4, 0x07, "Attendees", kAll},
    {4, 0x08, "Attendee", kAll},
    {4, 0x09, "Email", kAll},
    {4, 0x0A, "Name", kAll},
    {4, 0x0B, "Body", k25},
    {4, 0x0C, "BodyTruncated", k25},
    {4, 0x0D, "BusyStatus", kAll},
    {4, 0x0E, "Categories", kAll},
    {4, 0x0F, "Category", kAll},
    {4, 0x11, "DtStamp", kAll},
    {4, 0x12, "EndTime", kAll},
    {4, 0x13, "Exception", kAll},
    {4, 0x14, "Exceptions", kAll},
    {4, 0x15, "Deleted", kAll},
    {4, 0x16, "ExceptionStartTime", k25To141},
    {4, 0x17, "Location", k25To141},
    {4, 0x18, "MeetingStatus", kAll},
    {4, 0x19, "OrganizerEmail", kAll},
    {4, 0x1A, "OrganizerName", kAll},
    {4, 0x1B, "Recurrence", kAll},
    {4, 0x1C, "Type", kAll},
    {4, 0x1D, "Until", kAll},
    {4, 0x1E, "Occurrences", kAll},
    {4, 0x1F, "Interval", kAll},
    {4, 0x20, "DayOfWeek", kAll},
    {4, 0x21, "DayOfMonth", kAll},
    {4, 0x22, "WeekOfMonth", kAll},
    {4, 0x23, "MonthOfYear", kAll},
    {4, 0x24, "Reminder", kAll},
    {4, 0x25, "Sensitivity", kAll},
    {4, 0x26, "Subject", kAll},
    {4, 0x27, "StartTime", kAll},
    {4, 0x28, "UID", kAll},
    {4, 0x29, "AttendeeStatus", k120Up},
    {4, 0x2A, "AttendeeType", k120Up},
    {4, 0x33, "DisallowNewTimeProposal", k140Up},
    {4, 0x34, "ResponseRequested", k140Up},
    {4, 0x35, "AppointmentReplyTime", k140Up},
    {4, 0x36, "ResponseType", k140Up},
    {4, 0x37, "CalendarType", k140Up},
    {4, 0x38, "IsLeapMonth", k140Up},
    {4, 0x39, "FirstDayOfWeek", k141Up},
    {4, 0x3A, "OnlineMeetingConfLink", k141Up},
    {4, 0x3B, "OnlineMeetingExternalLink", k141Up},
    {4, 0x3C, "ClientUid", k160Up},

    // 2.1.2.1.6 Code Page 5: Move
    {5, 0x05, "MoveItems", kAll},
    {5, 0x06, "Move", kAll},
    {5, 0x07, "SrcMsgId", kAll},
    {5, 0x08, "SrcFldId", kAll},
    {5, 0x09, "DstFldId", kAll},
    {5, 0x0A, "Response", kAll},
    {5, 0x0B, "Status", kAll},
    {5, 0x0C, "DstMsgId", kAll},

    // 2.1.2.1.7 Code Page 6: GetItemEstimate (Class moved to AirSync in 14.0+)
    {6, 0x05, "GetItemEstimate", kAll},
    {6, 0x07, "Collections", kAll},
    {6, 0x08, "Collection", kAll},
    {6, 0x09, "Class", k25To121},
    {6, 0x0A, "CollectionId", kAll},
    {6, 0x0C, "Estimate", kAll},
    {6, 0x0D, "Response", kAll},
    {6, 0x0E, "Status", kAll},

    // 2.1.2.1.8 Code Page 7: FolderHierarchy
    {7, 0x05, "Folders", k25To121},
    {7, 0x06, "Folder", k25To121},
    {7, 0x07, "DisplayName", kAll},
    {7, 0x08, "ServerId", kAll},
    {7, 0x09, "ParentId", kAll},
    {7, 0x0A, "Type", kAll},
    {7, 0x0C, "Status", kAll},
    {7, 0x0E, "Changes", kAll},
    {7, 0x0F, "Add", kAll},
    {7, 0x10, "Delete", kAll},
    {7, 0x11, "Update", kAll},
    {7, 0x12, "SyncKey", kAll},
    {7, 0x13, "FolderCreate", kAll},
    {7, 0x14, "FolderDelete", kAll},
    {7, 0x15, "FolderUpdate", kAll},
    {7, 0x16, "FolderSync", kAll},
    {7, 0x17, "Count", kAll},

    // 2.1.2.1.9 Code Page 8: MeetingResponse
    {8, 0x05, "CalendarId", kAll},
    {8, 0x06, "CollectionId", kAll},
    {8, 0x07, "MeetingResponse", kAll},
    {8, 0x08, "RequestId", kAll},
    {8, 0x09, "Request", kAll},
    {8, 0x0A, "Result", kAll},
    {8, 0x0B, "Status", kAll},
    {8, 0x0C, "UserResponse", kAll},
    {8, 0x0E, "InstanceId", k141Up},
    {8, 0x10, "ProposedStartTime", k161},
    {8, 0x11, "ProposedEndTime", k161},
    {8, 0x12, "SendResponse", k160Up},

    // 2.1.2.1.10 Code Page 9: Tasks
    {9, 0x05, "Body", k25},
    {9, 0x06, "BodySize", k25},
    {9, 0x07, "BodyTruncated", k25},
    {9, 0x08, "Categories", kAll},
    {9, 0x09, "Category", kAll},
    {9, 0x0A, "Complete", kAll},
    {9, 0x0B, "DateCompleted", kAll},
    {9, 0x0C, "DueDate", kAll},
    {9, 0x0D, "UtcDueDate", kAll},
    {9, 0x0E, "Importance", kAll},
    {9, 0x0F, "Recurrence", kAll},
    {9, 0x10, "Type", kAll},
    {9, 0x11, "Start", kAll},
    {9, 0x12, "Until", kAll},
    {9, 0x13, "Occurrences", kAll},
    {9, 0x14, "Interval", kAll},
    {9, 0x15, "DayOfMonth", kAll},
    {9, 0x16, "DayOfWeek", kAll},
    {9, 0x17, "WeekOfMonth", kAll},
    {9, 0x18, "MonthOfYear", kAll},
    {9, 0x19, "Regenerate", kAll},
    {9, 0x1A, "DeadOccur", kAll},
    {9, 0x1B, "ReminderSet", kAll},
    {9, 0x1C, "ReminderTime", kAll},
    {9, 0x1D, "Sensitivity", kAll},
    {9, 0x1E, "StartDate", kAll},
    {9, 0x1F, "UtcStartDate", kAll},
    {9, 0x20, "Subject", kAll},
    {9, 0x22, "OrdinalDate", k120Up},
    {9, 0x23, "SubOrdinalDate", k120Up},
    {9, 0x24, "CalendarType", k140Up},
    {9, 0x25, "IsLeapMonth", k140Up},
    {9, 0x26, "FirstDayOfWeek", k141Up},

    // 2.1.2.1.11 Code Page 10: ResolveRecipients
    {10, 0x05, "ResolveRecipients", kAll},
    {10, 0x06, "Response", kAll},
    {10, 0x07, "Status", kAll},
    {10, 0x08, "Type", kAll},
    {10, 0x09, "Recipient", kAll},
    {10, 0x0A, "DisplayName", kAll},
    {10, 0x0B, "EmailAddress", kAll},
    {10, 0x0C, "Certificates", kAll},
    {10, 0x0D, "Certificate", kAll},
    {10, 0x0E, "MiniCertificate", kAll},
    {10, 0x0F, "Options", kAll},
    {10, 0x10, "To", kAll},
    {10, 0x11, "CertificateRetrieval", kAll},
    {10, 0x12, "RecipientCount", kAll},
    {10, 0x13, "MaxCertificates", kAll},
    {10, 0x14, "MaxAmbiguousRecipients", kAll},
    {10, 0x15, "CertificateCount", kAll},
    {10, 0x16, "Availability", k140Up},
    {10, 0x17, "StartTime", k140Up},
    {10, 0x18, "EndTime", k140Up},
    {10, 0x19, "MergedFreeBusy", k140Up},
    {10, 0x1A, "Picture", k141Up},
    {10, 0x1B, "MaxSize", k141Up},
    {10, 0x1C, "Data", k141Up},
    {10, 0x1D, "MaxPictures", k141Up},

    // 2.1.2.1.12 Code Page 11: ValidateCert
    {11, 0x05, "ValidateCert", kAll},
    {11, 0x06, "Certificates", kAll},
    {11, 0x07, "Certificate", kAll},
    {11, 0x08, "CertificateChain", kAll},
    {11, 0x09, "CheckCRL", kAll},
    {11, 0x0A, "Status", kAll},

    // 2.1.2.1.13 Code Page 12: Contacts2
    {12, 0x05, "CustomerId", kAll},
    {12, 0x06, "GovernmentId", kAll},
    {12, 0x07, "IMAddress", kAll},
    {12, 0x08, "IMAddress2", kAll},
    {12, 0x09, "IMAddress3", kAll},
    {12, 0x0A, "ManagerName", kAll},
    {12, 0x0B, "CompanyMainPhone", kAll},
    {12, 0x0C, "AccountName", kAll},
    {12, 0x0D, "NickName", kAll},
    {12, 0x0E, "MMS", kAll},

    // 2.1.2.1.14 Code Page 13: Ping
    {13, 0x05, "Ping", kAll},
    {13, 0x07, "Status", kAll},
    {13, 0x08, "HeartbeatInterval", kAll},
    {13, 0x09, "Folders", kAll},
    {13, 0x0A, "Folder", kAll},
    {13, 0x0B, "Id", kAll},
    {13, 0x0C, "Class", kAll},
    {13, 0x0D, "MaxFolders", kAll},

    // 2.1.2.1.15 Code Page 14: Provision
    {14, 0x05, "Provision", kAll},
    {14, 0x06, "Policies", kAll},
    {14, 0x07, "Policy", kAll},
    {14, 0x08, "PolicyType", kAll},
    {14, 0x09, "PolicyKey", kAll},
    {14, 0x0A, "Data", kAll},
    {14, 0x0B, "Status", kAll},
    {14, 0x0C, "RemoteWipe", kAll},
    {14, 0x0D, "EASProvisionDoc", k120Up},
    {14, 0x0E, "DevicePasswordEnabled", k120Up},
    {14, 0x0F, "AlphanumericDevicePasswordRequired", k120Up},
    {14, 0x10, "RequireStorageCardEncryption", k121Up},
    {14, 0x11, "PasswordRecoveryEnabled", k120Up},
    {14, 0x13, "AttachmentsEnabled", k120Up},
    {14, 0x14, "MinDevicePasswordLength", k120Up},
    {14, 0x15, "MaxInactivityTimeDeviceLock", k120Up},
    {14, 0x16, "MaxDevicePasswordFailedAttempts", k120Up},
    {14, 0x17, "MaxAttachmentSize", k120Up},
    {14, 0x18, "AllowSimpleDevicePassword", k120Up},
    {14, 0x19, "DevicePasswordExpiration", k120Up},
    {14, 0x1A, "DevicePasswordHistory", k120Up},
    {14, 0x1B, "AllowStorageCard", k121Up},
    {14, 0x1C, "AllowCamera", k121Up},
    {14, 0x1D, "RequireDeviceEncryption", k121Up},
    {14, 0x1E, "AllowUnsignedApplications", k121Up},
    {14, 0x1F, "AllowUnsignedInstallationPackages", k121Up},
    {14, 0x20, "MinDevicePasswordComplexCharacters", k121Up},
    {14, 0x21, "AllowWiFi", k121Up},
    {14, 0x22, "AllowTextMessaging", k121Up},
    {14, 0x23, "AllowPOPIMAPEmail", k121Up},
    {14, 0x24, "AllowBluetooth", k121Up},
    {14, 0x25, "AllowIrDA", k121Up},
    {14, 0x26, "RequireManualSyncWhenRoaming", k121Up},
    {14, 0x27, "AllowDesktopSync", k121Up},
    {14, 0x28, "MaxCalendarAgeFilter", k121Up},
    {14, 0x29, "AllowHTMLEmail", k121Up},
    {14, 0x2A, "MaxEmailAgeFilter", k121Up},
    {14, 0x2B, "MaxEmailBodyTruncationSize", k121Up},
    {14, 0x2C, "MaxEmailHTMLBodyTruncationSize", k121Up},
    {14, 0x2D, "RequireSignedSMIMEMessages", k121Up},
    {14, 0x2E, "RequireEncryptedSMIMEMessages", k121Up},
    {14, 0x2F, "RequireSignedSMIMEAlgorithm", k121Up},
    {14, 0x30, "RequireEncryptionSMIMEAlgorithm", k121Up},
    {14, 0x31, "AllowSMIMEEncryptionAlgorithmNegotiation", k121Up},
    {14, 0x32, "AllowSMIMESoftCerts", k121Up},
    {14, 0x33, "AllowBrowser", k121Up},
    {14, 0x34, "AllowConsumerEmail", k121Up},
    {14, 0x35, "AllowRemoteDesktop", k121Up},
    {14, 0x36, "AllowInternetSharing", k121Up},
    {14, 0x37, "UnapprovedInROMApplicationList", k121Up},
    {14, 0x38, "ApplicationName", k121Up},
    {14, 0x39, "ApprovedApplicationList", k121Up},
    {14, 0x3A, "Hash", k121Up},
    {14, 0x3B, "AccountOnlyRemoteWipe", k161},

    // 2.1.2.1.16 Code Page 15: Search
    {15, 0x05, "Search", kAll},
    {15, 0x07, "Store", kAll},
    {15, 0x08, "Name", kAll},
    {15, 0x09, "Query", kAll},
    {15, 0x0A, "Options", kAll},
    {15, 0x0B, "Range", kAll},
    {15, 0x0C, "Status", kAll},
    {15, 0x0D, "Response", kAll},
    {15, 0x0E, "Result", kAll},
    {15, 0x0F, "Properties", kAll},
    {15, 0x10, "Total", kAll},
    {15, 0x11, "EqualTo", k120Up},
    {15, 0x12, "Value", k120Up},
    {15, 0x13, "And", k120Up},
    {15, 0x14, "Or", k120Up},
    {15, 0x15, "FreeText", k120Up},
    {15, 0x17, "DeepTraversal", k120Up},
    {15, 0x18, "LongId", k120Up},
    {15, 0x19, "RebuildResults", k120Up},
    {15, 0x1A, "LessThan", k120Up},
    {15, 0x1B, "GreaterThan", k120Up},
    {15, 0x1E, "UserName", k121Up},
    {15, 0x1F, "Password", k121Up},
    {15, 0x20, "ConversationId", k140Up},
    {15, 0x21, "Picture", k141Up},
    {15, 0x22, "MaxSize", k141Up},
    {15, 0x23, "MaxPictures", k141Up},

    // 2.1.2.1.17 Code Page 16: GAL
    {16, 0x05, "DisplayName", kAll},
    {16, 0x06, "Phone", kAll},
    {16, 0x07, "Office", kAll},
    {16, 0x08, "Title", kAll},
    {16, 0x09, "Company", kAll},
    {16, 0x0A, "Alias", kAll},
    {16, 0x0B, "FirstName", kAll},
    {16, 0x0C, "LastName", kAll},
    {16, 0x0D, "HomePhone", kAll},
    {16, 0x0E, "MobilePhone", kAll},
    {16, 0x0F, "EmailAddress", kAll},
    {16, 0x10, "Picture", k141Up},
    {16, 0x11, "Status", k141Up},
    {16, 0x12, "Data", k141Up},

    // 2.1.2.1.18 Code Page 17: AirSyncBase
    {17, 0x05, "BodyPreference", k120Up},
    {17, 0x06, "Type", k120Up},
    {17, 0x07, "TruncationSize", k120Up},
    {17, 0x08, "AllOrNone", k120Up},
    {17, 0x0A, "Body", k120Up},
    {17, 0x0B, "Data", k120Up},
    {17, 0x0C, "EstimatedDataSize", k120Up},
    {17, 0x0D, "Truncated", k120Up},
    {17, 0x0E, "Attachments", k120Up},
    {17, 0x0F, "Attachment", k120Up},
    {17, 0x10, "DisplayName", k120Up},
    {17, 0x11, "FileReference", k120Up},
    {17, 0x12, "Method", k120Up},
    {17, 0x13, "ContentId", k120Up},
    {17, 0x14, "ContentLocation", k120Up},
    {17, 0x15, "IsInline", k120Up},
    {17, 0x16, "NativeBodyType", k120Up},
    {17, 0x17, "ContentType", k120Up},
    {17, 0x18, "Preview", k140Up},
    {17, 0x19, "BodyPartPreference", k141Up},
    {17, 0x1A, "BodyPart", k141Up},
    {17, 0x1B, "Status", k141Up},
    {17, 0x1C, "Add", k160Up},
    {17, 0x1D, "Delete", k160Up},
    {17, 0x1E, "ClientId", k160Up},
    {17, 0x1F, "Content", k160Up},
    {17, 0x20, "Location", k160Up},
    {17, 0x21, "Annotation", k160Up},
    {17, 0x22, "Street", k160Up},
    {17, 0x23, "City", k160Up},
    {17, 0x24, "State", k160Up},
    {17, 0x25, "Country", k160Up},
    {17, 0x26, "PostalCode", k160Up},
    {17, 0x27, "Latitude", k160Up},
    {17, 0x28, "Longitude", k160Up},
    {17, 0x29, "Accuracy", k160Up},
    {17, 0x2A, "Altitude", k160Up},
    {17, 0x2B, "AltitudeAccuracy", k160Up},
    {17, 0x2C, "LocationUri", k160Up},
    {17, 0x2D, "InstanceId", k160Up},

    // 2.1.2.1.19 Code Page 18: Settings
    {18, 0x05, "Settings", k120Up},
    {18, 0x06, "Status", k120Up},
    {18, 0x07, "Get", k120Up},
    {18, 0x08, "Set", k120Up},
    {18, 0x09, "Oof", k120Up},
    {18, 0x0A, "OofState", k120Up},
    {18, 0x0B, "StartTime", k120Up},
    {18, 0x0C, "EndTime", k120Up},
    {18, 0x0D, "OofMessage", k120Up},
    {18, 0x0E, "AppliesToInternal", k120Up},
    {18, 0x0F, "AppliesToExternalKnown", k120Up},
    {18, 0x10, "AppliesToExternalUnknown", k120Up},
    {18, 0x11, "Enabled", k120Up},
    {18, 0x12, "ReplyMessage", k120Up},
    {18, 0x13, "BodyType", k120Up},
    {18, 0x14, "DevicePassword", k120Up},
    {18, 0x15, "Password", k120Up},
    {18, 0x16, "DeviceInformation", k120Up},
    {18, 0x17, "Model", k120Up},
    {18, 0x18, "IMEI", k120Up},
    {18, 0x19, "FriendlyName", k120Up},
    {18, 0x1A, "OS", k120Up},
    {18, 0x1B, "OSLanguage", k120Up},
    {18, 0x1C, "PhoneNumber", k120Up},
    {18, 0x1D, "UserInformation", k120Up},
    {18, 0x1E, "EmailAddresses", k120Up},
    {18, 0x1F, "SMTPAddress", k120Up},
    {18, 0x20, "UserAgent", k121Up},
    {18, 0x21, "EnableOutboundSMS", k140Up},
    {18, 0x22, "MobileOperator", k140Up},
    {18, 0x23, "PrimarySmtpAddress", k141Up},
    {18, 0x24, "Accounts", k141Up},
    {18, 0x25, "Account", k141Up},
    {18, 0x26, "AccountId", k141Up},
    {18, 0x27, "AccountName", k141Up},
    {18, 0x28, "UserDisplayName", k141Up},
    {18, 0x29, "SendDisabled", k141Up},
    {18, 0x2B, "RightsManagementInformation", k141Up},

    // 2.1.2.1.20 Code Page 19: DocumentLibrary
    {19, 0x05, "LinkId", k120Up},
    {19, 0x06, "DisplayName", k120Up},
    {19, 0x07, "IsFolder", k120Up},
    {19, 0x08, "CreationDate", k120Up},
    {19, 0x09, "LastModifiedDate", k120Up},
    {19, 0x0A, "IsHidden", k120Up},
    {19, 0x0B, "ContentLength", k120Up},
    {19, 0x0C, "ContentType", k120Up},

    // 2.1.2.1.21 Code Page 20: ItemOperations
    {20, 0x05, "ItemOperations", k120Up},
    {20, 0x06, "Fetch", k120Up},
    {20, 0x07, "Store", k120Up},
    {20, 0x08, "Options", k120Up},
    {20, 0x09, "Range", k120Up},
    {20, 0x0A, "Total", k120Up},
    {20, 0x0B, "Properties", k120Up},
    {20, 0x0C, "Data", k120Up},
    {20, 0x0D, "Status", k120Up},
    {20, 0x0E, "Response", k120Up},
    {20, 0x0F, "Version", k120Up},
    {20, 0x10, "Schema", k120Up},
    {20, 0x11, "Part", k120Up},
    {20, 0x12, "EmptyFolderContents", k120Up},
    {20, 0x13, "DeleteSubFolders", k120Up},
    {20, 0x14, "UserName", k121Up},
    {20, 0x15, "Password", k121Up},
    {20, 0x16, "Move", k140Up},
    {20, 0x17, "DstFldId", k140Up},
    {20, 0x18, "ConversationId", k140Up},
    {20, 0x19, "MoveAlways", k140Up},

    // 2.1.2.1.22 Code Page 21: ComposeMail
    {21, 0x05, "SendMail", k140Up},
    {21, 0x06, "SmartForward", k140Up},
    {21, 0x07, "SmartReply", k140Up},
    {21, 0x08, "SaveInSentItems", k140Up},
    {21, 0x09, "ReplaceMime", k140Up},
    {21, 0x0B, "Source", k140Up},
    {21, 0x0C, "FolderId", k140Up},
    {21, 0x0D, "ItemId", k140Up},
    {21, 0x0E, "LongId", k140Up},
    {21, 0x0F, "InstanceId", k140Up},
    {21, 0x10, "Mime", k140Up},
    {21, 0x11, "ClientId", k140Up},
    {21, 0x12, "Status", k140Up},
    {21, 0x13, "AccountId", k141Up},
    {21, 0x15, "Forwardees", k160Up},
    {21, 0x16, "Forwardee", k160Up},
    {21, 0x17, "Name", k160Up},
    {21, 0x18, "Email", k160Up},

    // 2.1.2.1.23 Code Page 22: Email2
    {22, 0x05, "UmCallerID", k140Up},
    {22, 0x06, "UmUserNotes", k140Up},
    {22, 0x07, "UmAttDuration", k140Up},
    {22, 0x08, "UmAttOrder", k140Up},
    {22, 0x09, "ConversationId", k140Up},
    {22, 0x0A, "ConversationIndex", k140Up},
    {22, 0x0B, "LastVerbExecuted", k140Up},
    {22, 0x0C, "LastVerbExecutionTime", k140Up},
    {22, 0x0D, "ReceivedAsBcc", k140Up},
    {22, 0x0E, "Sender", k140Up},
    {22, 0x0F, "CalendarType", k140Up},
    {22, 0x10, "IsLeapMonth", k140Up},
    {22, 0x11, "AccountId", k141Up},
    {22, 0x12, "FirstDayOfWeek", k141Up},
    {22, 0x13, "MeetingMessageType", k141Up},
    {22, 0x15, "IsDraft", k160Up},
    {22, 0x16, "Bcc", k160Up},
    {22, 0x17, "Send", k160Up},

    // 2.1.2.1.24 Code Page 23: Notes
    {23, 0x05, "Subject", k140Up},
    {23, 0x06, "MessageClass", k140Up},
    {23, 0x07, "LastModifiedDate", k140Up},
    {23, 0x08, "Categories", k140Up},
    {23, 0x09, "Category", k140Up},

    // 2.1.2.1.25 Code Page 24: RightsManagement
    {24, 0x05, "RightsManagementSupport", k141Up},
    {24, 0x06, "RightsManagementTemplates", k141Up},
    {24, 0x07, "RightsManagementTemplate", k141Up},
    {24, 0x08, "RightsManagementLicense", k141Up},
    {24, 0x09, "EditAllowed", k141Up},
    {24, 0x0A, "ReplyAllowed", k141Up},
    {24, 0x0B, "ReplyAllAllowed", k141Up},
    {24, 0x0C, "ForwardAllowed", k141Up},
    {24, 0x0D, "ModifyRecipientsAllowed", k141Up},
    {24, 0x0E, "ExtractAllowed", k141Up},
    {24, 0x0F, "PrintAllowed", k141Up},
    {24, 0x10, "ExportAllowed", k141Up},
    {24, 0x11, "ProgrammaticAccessAllowed", k141Up},
    {24, 0x12, "Owner", k141Up},
    {24, 0x13, "ContentExpiryDate", k141Up},
    {24, 0x14, "TemplateID", k141Up},
    {24, 0x15, "TemplateName", k141Up},
    {24, 0x16, "TemplateDescription", k141Up},
    {24, 0x17, "ContentOwner", k141Up},
    {24, 0x18, "RemoveRightsManagementProtection", k141Up},

    // 2.1.2.1.26 Code Page 25: Find (16.1 only)
    {25, 0x05, "Find", k161},
    {25, 0x06, "SearchId", k161},
    {25, 0x07, "ExecuteSearch", k161},
    {25, 0x08, "MailBoxSearchCriterion", k161},
    {25, 0x09, "Query", k161},
    {25, 0x0A, "Status", k161},
    {25, 0x0B, "FreeText", k161},
    {25, 0x0C, "Options", k161},
    {25, 0x0D, "Range", k161},
    {25, 0x0E, "DeepTraversal", k161},
    {25, 0x11, "Response", k161},
    {25, 0x12, "Result", k161},
    {25, 0x13, "Properties", k161},
    {25, 0x14, "Preview", k161},
    {25, 0x15, "HasAttachments", k161},
    {25, 0x16, "Total", k161},
    {25, 0x17, "DisplayCc", k161},
    {25, 0x18, "DisplayBcc", k161},
    {25, 0x19, "GalSearchCriterion", k161},
    {25, 0x20, "MaxPictures", k161},
    {25, 0x21, "MaxSize", k161},
    {25, 0x22, "Picture", k161},
};

// 2.1.2.1 "Code Pages": the XML namespace of each page.
constexpr std::array<std::string_view, kPageCount> kNamespaces = {
    "AirSync",   "Contacts",        "Email",        "AirNotify",       "Calendar",
    "Move",      "GetItemEstimate", "FolderHierarchy", "MeetingResponse", "Tasks",
    "ResolveRecipients", "ValidateCert", "Contacts2", "Ping",          "Provision",
    "Search",    "Gal",             "AirSyncBase",  "Settings",        "DocumentLibrary",
    "ItemOperations", "ComposeMail", "Email2",      "Notes",           "RightsManagement",
    "Find",
};

constexpr bool sortedByPageAndToken() {
  for (std::size_t i = 1; i < std::size(kTags); ++i) {
    const TagInfo& a = kTags[i - 1];
    const TagInfo& b = kTags[i];
    if (a.page > b.page || (a.page == b.page && a.token >= b.token)) return false;
  }
  for (const TagInfo& t : kTags) {
    if (t.page >= kPageCount || t.token < kFirstTagToken || t.token > kLastTagToken ||
        t.versions == 0 || (t.versions & ~kAllVersions) != 0) {
      return false;
    }
  }
  return true;
}
static_assert(sortedByPageAndToken(), "code page table must be sorted, unique and in range");

// Index of the first tag of each page (and one past the last), for O(1)
// narrowing before the binary search.
constexpr std::array<std::size_t, kPageCount + 1> pageStarts() {
  std::array<std::size_t, kPageCount + 1> starts{};
  std::size_t i = 0;
  for (std::size_t p = 0; p <= kPageCount; ++p) {
    while (i < std::size(kTags) && kTags[i].page < p) ++i;
    starts[p] = i;
  }
  return starts;
}
constexpr auto kPageStarts = pageStarts();

std::span<const TagInfo> pageTags(std::uint8_t page) {
  if (page >= kPageCount) return {};
  return std::span<const TagInfo>(kTags).subspan(kPageStarts[page],
                                                 kPageStarts[page + 1] - kPageStarts[page]);
}

}  // namespace

std::string_view pageNamespace(std::uint8_t page) noexcept {
  return page < kPageCount ? kNamespaces[page] : std::string_view{};
}

std::optional<std::uint8_t> pageOf(std::string_view ns) noexcept {
  if (!ns.empty() && ns.back() == ':') ns.remove_suffix(1);
  if (ns == "GAL") return 16;
  for (std::uint8_t p = 0; p < kPageCount; ++p) {
    if (kNamespaces[p] == ns) return p;
  }
  return std::nullopt;
}

const TagInfo* findTag(std::uint8_t page, std::uint8_t token) noexcept {
  auto tags = pageTags(page);
  auto it = std::lower_bound(tags.begin(), tags.end(), token,
                             [](const TagInfo& t, std::uint8_t tok) { return t.token < tok; });
  return it != tags.end() && it->token == token ? &*it : nullptr;
}

const TagInfo* findTag(std::uint8_t page, std::string_view name) noexcept {
  for (const TagInfo& t : pageTags(page)) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const TagInfo* findTag(std::string_view ns, std::string_view name) noexcept {
  auto page = pageOf(ns);
  return page ? findTag(*page, name) : nullptr;
}

std::span<const TagInfo> allTags() noexcept { return kTags; }

}  // namespace rampart::wbxml
