import { startChat } from './chat';
import { setupLogin } from './login';
import { setupProtection } from './protection';

// The chat view puts the signed-in person on <body> (inline scripts are blocked by the CSP).
const { userId, userName, userAvatar } = document.body.dataset;
if (userId && userName !== undefined) {
  startChat({ id: userId, name: userName, avatarUrl: userAvatar || null });
  setupProtection();
}
if (document.body.classList.contains('login-page')) setupLogin();
