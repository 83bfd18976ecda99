import type { CaseTab } from '../cases/page.ts';
import { humanFileSize } from '../files/files.ts';
import { canDeleteDocument } from './documents.ts';
import { groupByFolder, listCaseDocuments, listFolders, uploadFolders } from './queries.ts';

export const documentsTab: CaseTab = {
  name: 'documents',
  labelKey: 'cases.tab.documents',
  load: async ({ db, kase, user }) => {
    const [folders, documents] = await Promise.all([listFolders(db), listCaseDocuments(db, kase.id)]);
    return {
      folderGroups: groupByFolder(folders, documents),
      uploadFolders: uploadFolders(folders),
      canDelete: (document: { created_by: number | null }) => canDeleteDocument(user, document),
      humanFileSize,
      documentsNotice: null,
      uploadError: null,
    };
  },
};
